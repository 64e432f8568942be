// Installed pups: each with its status (running, stopped, needs config,
// needs dependencies, broken and why) and a start/stop button.

import { h, replace, logoEl, keepFocus, listRole } from '/js/dom.js';
import { post, enc } from '/js/api.js';
import { live } from '/js/live.js';
import { announce, pupStatus, statusBadge } from '/js/ui.js';

export function pupName(s) {
  return (s && s.manifest && s.manifest.meta && s.manifest.meta.name) || (s && s.id) || 'pup';
}

export function installedView(ctx) {
  document.title = 'Installed pups — Dogebox';
  const list = h('div.grid');
  const err = h('p.notice', { 'data-tone': 'bad', role: 'alert' });
  ctx.main.append(h('div.page-head', h('h1', 'Installed pups'),
    h('a.button', { href: '/store' }, 'Find pups in the store')), err, list);

  function draw() {
    keepFocus(list, drawList);
  }

  function drawList() {
    const states = Object.values(live.states).filter(Boolean)
      .sort((a, b) => pupName(a).localeCompare(pupName(b)));
    if (!states.length) {
      listRole(list, false);
      replace(list, h('p.empty', 'No pups are installed yet. ', h('a', { href: '/store' }, 'Browse the store'), ' to install one.'));
      return;
    }
    listRole(list, true, 'Installed pups');
    replace(list, states.map((s) => {
      const name = pupName(s);
      const st = pupStatus(s, live.stats[s.id], live.activeJobFor(s.id));
      const canToggle = s.installation === 'ready' && !s.needsConf && !s.needsDeps;
      const toggle = canToggle ? h('button', { type: 'button', 'data-key': `toggle-${s.id}`, 'aria-label': `${s.enabled ? 'Stop' : 'Start'} ${name}` }, s.enabled ? 'Stop' : 'Start') : null;
      if (toggle) {
        toggle.addEventListener('click', async () => {
          toggle.disabled = true;
          err.textContent = '';
          try {
            await post(`/pup/${enc(s.id)}/${s.enabled ? 'disable' : 'enable'}`, {});
            announce(`${s.enabled ? 'Stopping' : 'Starting'} ${name}`);
          } catch (e) {
            if (e.status !== 401) err.textContent = `${name}: ${e.message}`;
            toggle.disabled = false;
          }
        });
      }
      return h('article.card.pupcard', { role: 'listitem', 'data-pup-id': s.id },
        h('div.pupcard-head', logoEl(live.logoOf(s.id), name),
          h('div', h('h2', h('a', { href: `/installed/${enc(s.id)}`, 'data-key': `link-${s.id}` }, name)),
            h('span.small.muted', `Version ${s.version || (s.manifest.meta || {}).version || '?'}`))),
        h('div.row', statusBadge(st), h('span.spacer'), toggle),
        st.detail ? h('p', { 'data-tone': 'bad' }, `Reason: ${st.detail}`) : null);
    }));
  }

  ctx.onCleanup(live.on('pups', draw));
  ctx.onCleanup(live.on('stats', draw));
  ctx.onCleanup(live.on('jobs', draw));
  draw();
}
