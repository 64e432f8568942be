// First run: choose the owner password, see the 24-word recovery phrase
// once, prove it was written down by typing a few of its words, finish.

import { h, replace, uid } from '/js/dom.js';
import { post, session } from '/js/api.js';
import { announce } from '/js/ui.js';
import { signedIn } from '/js/app.js';

const CONFIRM_WORDS = 3; // how many words the owner types back
// Upstream's default source, offered (and pre-checked) at the end of setup.
const DEFAULT_SOURCE = 'https://github.com/Dogebox-WG/pups.git';

function pickPositions(n, count) {
  const picked = new Set();
  const rnd = new Uint32Array(1);
  while (picked.size < Math.min(count, n)) {
    crypto.getRandomValues(rnd);
    picked.add(rnd[0] % n);
  }
  return [...picked].sort((a, b) => a - b);
}

export function setupView(ctx) {
  document.title = 'Set up your Dogebox';
  const wrap = h('div.narrow');
  ctx.main.append(wrap);
  let words = null;
  ctx.onCleanup(() => { words = null; });

  function stepPassword() {
    const pwId = uid('pw');
    const pw2Id = uid('pw2');
    const err = h('p.notice', { 'data-tone': 'bad', role: 'alert' });
    const pw = h('input', { type: 'password', id: pwId, name: 'password', autocomplete: 'new-password', required: true, 'aria-describedby': `${pwId}-help` });
    const pw2 = h('input', { type: 'password', id: pw2Id, name: 'confirm', autocomplete: 'new-password', required: true });
    const submit = h('button.primary', { type: 'submit' }, 'Create password and keys');
    const form = h('form', { novalidate: true },
      h('div.field', h('label', { for: pwId }, 'New password'), pw,
        h('div.help', { id: `${pwId}-help` }, 'You will use it to sign in to this panel. It also protects your Dogebox keys.')),
      h('div.field', h('label', { for: pw2Id }, 'Repeat the password'), pw2),
      err, submit);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      if (!pw.value) { err.textContent = 'Choose a password.'; pw.focus(); return; }
      if (pw.value !== pw2.value) { err.textContent = 'The two passwords are different. Type the same password twice.'; pw2.focus(); return; }
      submit.disabled = true;
      submit.textContent = 'Creating keys…';
      try {
        const res = await post('/keys/create-master', { password: pw.value });
        if (!res || !res.token || !Array.isArray(res.seedPhrase) || !res.seedPhrase.length) {
          throw new Error('The Dogebox did not return a recovery phrase.');
        }
        session.set(res.token);
        words = res.seedPhrase.map(String);
        pw.value = '';
        pw2.value = '';
        stepWords();
      } catch (e) {
        err.textContent = e.message;
        submit.disabled = false;
        submit.textContent = 'Create password and keys';
      }
    });
    replace(wrap, h('div.card',
      h('h1', 'Welcome to your Dogebox'),
      h('p', 'Step 1 of 3: choose the password that protects this Dogebox.'),
      form));
    pw.focus();
  }

  function stepWords() {
    const checkId = uid('saved');
    const check = h('input', { type: 'checkbox', id: checkId });
    const next = h('button.primary', { type: 'button', disabled: true }, 'Continue');
    check.addEventListener('change', () => { next.disabled = !check.checked; });
    next.addEventListener('click', () => stepConfirm());
    replace(wrap, h('div.card',
      h('h1', 'Your recovery phrase'),
      h('p', 'Step 2 of 3: write these 24 words down, in order, on paper. They are shown only this once.'),
      h('p.notice', { 'data-tone': 'warn' }, 'Anyone who has these words controls your Dogebox keys. With them you can recover the keys if you forget the password. Never type them into a website or share them.'),
      h('ol.words', { 'aria-label': 'Recovery phrase, 24 words' }, words.map((w) => h('li', w))),
      h('div.field.check', check, h('label', { for: checkId }, 'I have written down all 24 words in order')),
      next));
    wrap.querySelector('h1').setAttribute('tabindex', '-1');
    wrap.querySelector('h1').focus();
    announce('Your recovery phrase is shown. Write it down.');
  }

  function stepConfirm() {
    const positions = pickPositions(words.length, CONFIRM_WORDS);
    const err = h('p.notice', { 'data-tone': 'bad', role: 'alert' });
    const inputs = positions.map((p) => {
      const id = uid('word');
      const input = h('input', { type: 'text', id, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', 'data-position': p + 1 });
      return { p, input, field: h('div.field', h('label', { for: id }, `Word ${p + 1}`), input) };
    });
    const defId = uid('defsrc');
    const defSource = h('input', { type: 'checkbox', id: defId, checked: true, 'aria-describedby': `${defId}-help` });
    const submit = h('button.primary', { type: 'submit' }, 'Confirm and finish');
    const back = h('button', { type: 'button' }, 'Show the words again');
    back.addEventListener('click', () => stepWords());
    const form = h('form', { novalidate: true }, inputs.map((i) => i.field),
      h('div.field.check', defSource, h('div',
        h('label', { for: defId }, 'Add the Dogebox community pup source'),
        h('div.help', { id: `${defId}-help` }, `${DEFAULT_SOURCE} — you can add, refresh and remove sources later in Settings.`))),
      err, h('div.row', submit, back));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      for (const { p, input } of inputs) {
        if (input.value.trim().toLowerCase() !== words[p].toLowerCase()) {
          input.setAttribute('aria-invalid', 'true');
          err.textContent = `Word ${p + 1} does not match your recovery phrase. Check what you wrote down.`;
          input.focus();
          return;
        }
        input.removeAttribute('aria-invalid');
      }
      submit.disabled = true;
      submit.textContent = 'Finishing…';
      try {
        await post('/system/bootstrap', { sources: defSource.checked ? [DEFAULT_SOURCE] : [] });
      } catch (e) {
        // Already finished is fine; anything else is shown.
        if (e.status !== 403 && e.status !== 409) {
          err.textContent = `Could not finish the setup: ${e.message}`;
          submit.disabled = false;
          submit.textContent = 'Confirm and finish';
          return;
        }
      }
      words = null;
      announce('Setup is complete.');
      signedIn('/store');
    });
    replace(wrap, h('div.card',
      h('h1', 'Check your recovery phrase'),
      h('p', 'Step 3 of 3: type these words from the list you wrote down.'),
      form));
    inputs[0].input.focus();
  }

  stepPassword();
}
