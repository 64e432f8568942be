// Sign in. A wrong password says so; too many attempts (429) says how long
// to wait (Retry-After) and keeps the button disabled until then.

import { h, uid } from '/js/dom.js';
import { post, session } from '/js/api.js';
import { signedIn, takeFlash } from '/js/app.js';

export function loginView(ctx) {
  document.title = 'Sign in — Dogebox';
  const pwId = uid('pw');
  const flash = takeFlash();
  const err = h('p.notice#login-error', { 'data-tone': 'bad', role: 'alert' });
  const pw = h('input', { type: 'password', id: pwId, name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button.primary', { type: 'submit' }, 'Sign in');
  let timer = null;
  ctx.onCleanup(() => clearInterval(timer));

  function wait(seconds) {
    clearInterval(timer);
    let left = seconds;
    const tick = () => {
      if (left <= 0) {
        clearInterval(timer);
        submit.disabled = false;
        err.textContent = 'You can try again now.';
        err.dataset.tone = 'info';
        return;
      }
      submit.disabled = true;
      err.dataset.tone = 'bad';
      err.textContent = `Too many sign-in attempts. Wait ${left} second${left === 1 ? '' : 's'} and try again.`;
      left -= 1;
    };
    tick();
    timer = setInterval(tick, 1000);
  }

  const form = h('form', { novalidate: true },
    h('div.field', h('label', { for: pwId }, 'Password'), pw),
    err, submit);
  let flashEl = null;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (flashEl) { flashEl.remove(); flashEl = null; }
    err.dataset.tone = 'bad';
    err.textContent = '';
    if (!pw.value) { err.textContent = 'Enter your password.'; pw.focus(); return; }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      const res = await post('/authenticate', { password: pw.value }, { noToken: true, allow401: true });
      if (!res || !res.token) throw new Error('The Dogebox did not return a session.');
      session.set(res.token);
      pw.value = '';
      await signedIn(ctx.query.get('next'));
    } catch (e) {
      submit.textContent = 'Sign in';
      submit.disabled = false;
      if (e.status === 429) {
        wait(e.retryAfter || 60);
      } else if (e.status === 401 || e.status === 403) {
        err.textContent = 'Incorrect password. Try again.';
      } else {
        err.textContent = e.message;
      }
      pw.select();
      pw.focus();
    }
  });

  ctx.main.append(h('div.narrow.card',
    h('div.row', h('img', { src: document.querySelector('link[rel="icon"]').href, alt: '', width: 40, height: 40 }),
      h('h1', 'Sign in to your Dogebox')),
    flashEl = flash ? h('p.notice', { 'data-tone': flash.tone, role: 'status' }, flash.text) : null,
    form));
  pw.focus();
}
