// Settings: pup sources (add, refresh, remove), the owner password, and
// signing out of every session.

import { h, replace, uid, timeAgo } from '/js/dom.js';
import { get, put, del, post, session, enc } from '/js/api.js';
import { live } from '/js/live.js';
import { loadCatalog, invalidateCatalog } from '/js/catalog.js';
import { announce, badge, confirmDialog } from '/js/ui.js';
import { sessionGone, signOut } from '/js/app.js';

export function settingsView(ctx) {
  document.title = 'Settings — Dogebox';
  const sources = h('div');
  ctx.main.append(h('div.page-head', h('h1', 'Settings')),
    h('div.stack',
      h('section.section#sources', { 'aria-labelledby': 'src-h' }, h('h2#src-h', 'Pup sources'), sources),
      h('div.cols',
        h('section.section#password', { 'aria-labelledby': 'pw-h' }, h('h2#pw-h', 'Change password'), passwordForm()),
        h('section.section#sessions', { 'aria-labelledby': 'ses-h' }, h('h2#ses-h', 'Sessions'), sessionsBox(),
          h('h2', 'About'), aboutBox()))));
  sourcesBox(sources);
}

function sourcesBox(root) {
  const list = h('ul.plain', { 'aria-label': 'Sources' });
  const status = h('p.notice', { role: 'status' });
  const locId = uid('loc');
  const loc = h('input', { type: 'text', id: locId, name: 'location', autocomplete: 'off', spellcheck: 'false', placeholder: 'https://example.org/pups/ or /srv/pups', 'aria-describedby': `${locId}-help ${locId}-err` });
  const locErr = h('div.error', { id: `${locId}-err` });
  const add = h('button.primary', { type: 'submit' }, 'Add source');
  const refreshAll = h('button', { type: 'button' }, 'Refresh all');
  const form = h('form#add-source', { novalidate: true },
    h('div.field', h('label', { for: locId }, 'Location of a new source'), loc,
      h('div.help', { id: `${locId}-help` }, 'An HTTP(S) address of a pup index, a git repository (https://….git), or a folder on this Dogebox.'),
      locErr),
    add);
  replace(root, h('div.row', h('p.muted', 'Sources list the pups you can install.'), h('span.spacer'), refreshAll), status, list, h('h3', 'Add a source'), form);

  function say(text, tone = 'info') {
    status.dataset.tone = tone;
    status.setAttribute('role', tone === 'bad' ? 'alert' : 'status');
    status.textContent = text;
  }

  async function load(refresh = false) {
    let srcs = [];
    let store = {};
    try {
      const r = await get('/sources');
      srcs = Array.isArray(r) ? r : (r && r.sources) || [];
      store = await loadCatalog({ refresh }).catch(() => ({}));
    } catch (e) {
      if (e.status !== 401) say(`Cannot load the sources: ${e.message}`, 'bad');
      return;
    }
    if (!srcs.length) {
      replace(list, h('li.empty', 'No sources yet. Add one below.'));
      return;
    }
    replace(list, srcs.map((s) => {
      const st = store[s.id] || {};
      const error = s.error || s.lastError || st.error;
      const last = s.lastRefresh || s.lastChecked || st.lastChecked;
      const refreshBtn = h('button', { type: 'button', 'aria-label': `Refresh ${s.name || s.id}` }, 'Refresh');
      const removeBtn = h('button', { type: 'button', 'aria-label': `Remove ${s.name || s.id}` }, 'Remove');
      refreshBtn.addEventListener('click', () => refreshOne(s, refreshBtn));
      removeBtn.addEventListener('click', () => remove(s, removeBtn));
      return h('li', { 'data-source': s.id },
        h('div.row', h('strong', s.name || s.id), badge(s.type || 'source'),
          error ? badge('Error', 'bad') : badge('OK', 'ok'),
          h('span.spacer'), refreshBtn, removeBtn),
        h('div.small.muted.mono', s.location || ''),
        h('div.small.muted', `Last refreshed ${timeAgo(last)}`),
        error ? h('p.notice', { 'data-tone': 'bad' }, error) : null);
    }));
  }

  async function refreshOne(s, btn) {
    btn.disabled = true;
    say(`Refreshing ${s.name || s.id}…`);
    try {
      try {
        await post(`/source/${enc(s.id)}/refresh`, {});
      } catch (e) {
        // Upstream has no per-source refresh: refresh them all.
        if (e.status !== 404 && e.status !== 405) throw e;
        await loadCatalog({ refresh: true });
      }
      invalidateCatalog();
      await load();
      say(`${s.name || s.id} refreshed.`, 'ok');
    } catch (e) {
      if (e.status !== 401) say(`Refresh failed: ${e.message}`, 'bad');
    } finally {
      btn.disabled = false;
    }
  }

  async function remove(s, btn) {
    const ok = await confirmDialog({
      title: `Remove the source ${s.name || s.id}?`,
      message: [`Its pups will no longer be listed in the store. Pups already installed from it keep running.`],
      confirmLabel: 'Remove source',
    });
    if (!ok) return;
    btn.disabled = true;
    try {
      await del(`/source/${enc(s.id)}`);
      invalidateCatalog();
      say(`${s.name || s.id} removed.`, 'ok');
      await load();
    } catch (e) {
      if (e.status !== 401) say(`Cannot remove ${s.name || s.id}: ${e.message}`, 'bad');
      btn.disabled = false;
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    locErr.textContent = '';
    loc.removeAttribute('aria-invalid');
    const location = loc.value.trim();
    if (!location) {
      locErr.textContent = 'Enter the address or folder of the source.';
      loc.setAttribute('aria-invalid', 'true');
      loc.focus();
      return;
    }
    add.disabled = true;
    add.textContent = 'Adding…';
    try {
      await put('/source', { location });
      invalidateCatalog();
      loc.value = '';
      say('Source added.', 'ok');
      announce('Source added');
      await load();
    } catch (e) {
      if (e.status !== 401) {
        locErr.textContent = e.message;
        loc.setAttribute('aria-invalid', 'true');
        loc.focus();
      }
    } finally {
      add.disabled = false;
      add.textContent = 'Add source';
    }
  });
  refreshAll.addEventListener('click', async () => {
    refreshAll.disabled = true;
    say('Refreshing every source…');
    await load(true);
    say('Sources refreshed.', 'ok');
    refreshAll.disabled = false;
  });
  load();
}

function passwordForm() {
  const ids = { cur: uid('cur'), nw: uid('new'), nw2: uid('new2') };
  const cur = h('input', { type: 'password', id: ids.cur, autocomplete: 'current-password' });
  const nw = h('input', { type: 'password', id: ids.nw, autocomplete: 'new-password' });
  const nw2 = h('input', { type: 'password', id: ids.nw2, autocomplete: 'new-password' });
  const err = h('p.notice', { 'data-tone': 'bad', role: 'alert' });
  const submit = h('button.primary', { type: 'submit' }, 'Change password');
  const form = h('form#password-form', { novalidate: true },
    h('div.field', h('label', { for: ids.cur }, 'Current password'), cur),
    h('div.field', h('label', { for: ids.nw }, 'New password'), nw),
    h('div.field', h('label', { for: ids.nw2 }, 'Repeat the new password'), nw2),
    h('p.small.muted', 'Changing the password signs out every session, including this one.'),
    err, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    if (!cur.value) { err.textContent = 'Enter your current password.'; cur.focus(); return; }
    if (!nw.value) { err.textContent = 'Choose a new password.'; nw.focus(); return; }
    if (nw.value !== nw2.value) { err.textContent = 'The new passwords are different. Type the same one twice.'; nw2.focus(); return; }
    submit.disabled = true;
    try {
      const res = await post('/change-password', { current_password: cur.value, new_password: nw.value }, { allow401: true });
      cur.value = nw.value = nw2.value = '';
      if (res && res.token) {
        session.set(res.token);
        err.dataset.tone = 'ok';
        err.textContent = 'Password changed. Other sessions were signed out.';
        announce('Password changed');
        live.stop();
        live.start();
      } else {
        sessionGone('Password changed. Sign in with the new password.');
      }
    } catch (e) {
      err.dataset.tone = 'bad';
      err.textContent = e.status === 401 || e.status === 403 ? `The current password is not right. ${e.message !== 'The request failed (HTTP 403).' ? e.message : ''}` : e.message;
      cur.focus();
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function sessionsBox() {
  const err = h('p.notice', { 'data-tone': 'bad', role: 'alert' });
  const all = h('button.danger', { type: 'button' }, 'Sign out of all sessions');
  const one = h('button', { type: 'button' }, 'Sign out here');
  all.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Sign out of all sessions?',
      message: ['Every browser and tool signed in to this Dogebox is signed out, including this one.'],
      confirmLabel: 'Sign out everywhere',
      danger: true,
    });
    if (!ok) return;
    all.disabled = true;
    try {
      await post('/logout', { all: true }, { allow401: true });
      sessionGone('You are signed out of every session.');
    } catch (e) {
      err.textContent = e.message;
      all.disabled = false;
    }
  });
  one.addEventListener('click', () => signOut());
  return h('div', h('p', 'Signed in on this browser.'), h('div.row', one, all), err);
}

function aboutBox() {
  const b = live.boot || {};
  const v = b.version || {};
  return h('dl.kv',
    h('dt', 'Version'), h('dd', v.release || 'unknown'),
    h('dt', 'Build'), h('dd.mono', ((v.git && v.git.commit) || 'unknown').slice(0, 12)));
}
