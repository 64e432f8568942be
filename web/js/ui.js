// Shared widgets: status badges, progress bars, dialogs, charts, the log
// viewer, and the lists that explain what a pup provides, needs and is
// allowed to do.

import { h, svg, replace, uid } from '/js/dom.js';
import { get, download, wsUrl, enc } from '/js/api.js';

// ---- announcements for screen readers ----
export function announce(text) {
  const el = document.getElementById('announcer');
  if (!el) return;
  el.textContent = '';
  setTimeout(() => { el.textContent = text; }, 50);
}

// ---- pup status (dpanel's order: installation, deps, config, jobs, stats) ----
export function pupStatus(state, stats, activeJob) {
  if (!state) return { key: 'unknown', label: 'Unknown', tone: 'idle' };
  const inst = state.installation;
  if (inst === 'broken') {
    return { key: 'broken', label: 'Broken', tone: 'bad', detail: state.brokenReason || 'no reason given' };
  }
  const busy = { installing: 'Installing', upgrading: 'Upgrading', uninstalling: 'Uninstalling', purging: 'Purging' };
  if (busy[inst]) return { key: inst, label: `${busy[inst]}…`, tone: 'info' };
  if (inst === 'uninstalled') return { key: 'uninstalled', label: 'Uninstalled', tone: 'idle' };
  if (state.needsDeps) return { key: 'needs-deps', label: 'Needs dependencies', tone: 'warn' };
  if (state.needsConf) return { key: 'needs-config', label: 'Needs config', tone: 'warn' };
  if (activeJob) return { key: 'busy', label: `${activeJob.displayName || 'Working'}…`, tone: 'info' };
  const s = (stats && stats.status) || 'stopped';
  const map = {
    running: { label: 'Running', tone: 'ok' },
    starting: { label: 'Starting…', tone: 'info' },
    stopping: { label: 'Stopping…', tone: 'info' },
    stopped: { label: 'Stopped', tone: 'idle' },
  };
  const m = map[s] || { label: s, tone: 'idle' };
  return { key: s, label: m.label, tone: m.tone };
}

export function badge(label, tone = 'idle', attrs = {}) {
  return h('span.badge', { 'data-tone': tone, ...attrs }, label);
}

export function statusBadge(st) {
  return badge(st.label, st.tone, { 'data-status': st.key });
}

export function progressBar(value, label) {
  const v = Math.max(0, Math.min(100, Math.round(value || 0)));
  const bar = h('div');
  bar.style.width = `${v}%`;
  return h('div.progress', {
    role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': v, 'aria-label': label,
  }, bar);
}

export function setProgress(el, value) {
  const v = Math.max(0, Math.min(100, Math.round(value || 0)));
  el.setAttribute('aria-valuenow', v);
  el.firstChild.style.width = `${v}%`;
}

// ---- dialogs ----
// A modal built on <dialog>: focus moves in, Escape cancels, focus returns.
export function dialog(title, body, actions) {
  const titleId = uid('dlg');
  const d = h('dialog', { 'aria-labelledby': titleId },
    h('h2', { id: titleId }, title), body, h('div.row', actions));
  document.body.append(d);
  d.addEventListener('close', () => setTimeout(() => d.remove(), 0));
  d.showModal();
  return d;
}

export function confirmDialog({ title, message, confirmLabel, danger = false, typeToConfirm = '' }) {
  return new Promise((resolve) => {
    const inputId = uid('confirm');
    const input = typeToConfirm
      ? h('input', { type: 'text', id: inputId, autocomplete: 'off', spellcheck: 'false' }) : null;
    const ok = h(danger ? 'button.danger' : 'button.primary', { type: 'button', disabled: !!typeToConfirm }, confirmLabel);
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const body = h('div', [].concat(message).map((m) => (typeof m === 'string' ? h('p', m) : m)),
      typeToConfirm ? h('div.field',
        h('label', { for: inputId }, `Type ${typeToConfirm} to confirm`),
        input) : null);
    const d = dialog(title, body, [cancel, ok]);
    let result = false;
    if (input) {
      input.addEventListener('input', () => { ok.disabled = input.value.trim() !== typeToConfirm; });
      input.focus();
    } else {
      cancel.focus();
    }
    cancel.addEventListener('click', () => d.close());
    ok.addEventListener('click', () => { result = true; d.close(); });
    d.addEventListener('close', () => resolve(result));
  });
}

// ---- charts ----
// A small line chart of a metric's history (oldest first, nulls skipped).
export function sparkline(values, label) {
  const nums = (values || []).map((v) => (typeof v === 'number' ? v : parseFloat(v)))
    .filter((v) => Number.isFinite(v));
  const w = 100;
  const hgt = 30;
  const el = svg('svg', { viewBox: `0 0 ${w} ${hgt}`, preserveAspectRatio: 'none', role: 'img' });
  if (nums.length === 0) {
    el.setAttribute('aria-label', `${label}: no data yet`);
    return el;
  }
  const min = Math.min(...nums);
  const max = Math.max(...nums);
  const span = max - min || 1;
  const step = nums.length > 1 ? w / (nums.length - 1) : 0;
  const pts = nums.map((v, i) => `${(i * step).toFixed(2)},${(hgt - 2 - ((v - min) / span) * (hgt - 4)).toFixed(2)}`);
  if (nums.length === 1) pts.push(`${w},${pts[0].split(',')[1]}`);
  el.setAttribute('aria-label', `${label}: ${nums.length} samples, latest ${fmtNum(nums[nums.length - 1])}, lowest ${fmtNum(min)}, highest ${fmtNum(max)}`);
  el.append(svg('polyline', { points: pts.join(' ') }));
  return el;
}

export function fmtNum(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v ?? '');
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(Math.abs(v) >= 10 ? 1 : 2);
}

export function lastValue(values) {
  for (let i = (values || []).length - 1; i >= 0; i--) {
    if (values[i] !== null && values[i] !== undefined && values[i] !== '') return values[i];
  }
  return null;
}

// ---- log viewer ----
// Backlog from GET /log/<kind>/<id>/tail, then the live socket
// /ws/log/<kind>/<id>?resumeToken=… so no line is lost or doubled. Follow
// keeps the newest line in view; Download fetches the whole file.
const LOG_LINES_MAX = 2000;

export function logViewer(kind, id, { title = 'Log', short = false, filename } = {}) {
  const logId = uid('log');
  const followId = uid('follow');
  const box = h(short ? 'div.log.short' : 'div.log', {
    id: logId, role: 'log', 'aria-label': title, tabindex: 0, 'aria-live': 'off',
  });
  const follow = h('input', { type: 'checkbox', id: followId, checked: true });
  const status = h('span.small.muted', { role: 'status' });
  const dl = h('button', { type: 'button' }, 'Download');
  const root = h('div.logviewer',
    h('div.row',
      h('div.field.check', follow, h('label', { for: followId }, 'Follow new lines')),
      h('span.spacer'), status, dl),
    box);
  let ws = null;
  let closed = false;
  let timer = null;
  let count = 0;

  function add(line, cls) {
    const text = String(line).replace(/\n$/, '');
    box.append(h(cls ? `div.${cls}` : 'div', text));
    count += 1;
    while (count > LOG_LINES_MAX) { box.firstChild.remove(); count -= 1; }
    if (follow.checked) box.scrollTop = box.scrollHeight;
  }

  async function start() {
    let resume = null;
    try {
      const page = await get(`/log/${kind}/${enc(id)}/tail?limit=500`);
      for (const l of (page && page.lines) || []) add(l);
      resume = page && page.resumeToken;
      if (!count) status.textContent = 'No lines yet';
    } catch (e) {
      if (e.status === 401) return;
      status.textContent = `Cannot read the log: ${e.message}`;
    }
    connect(resume);
  }

  function connect(resume) {
    if (closed) return;
    ws = new WebSocket(wsUrl(`/ws/log/${kind}/${enc(id)}`, { resumeToken: resume }));
    ws.onopen = () => { status.textContent = 'Live'; };
    ws.onmessage = (ev) => {
      let line = ev.data;
      try { line = JSON.parse(ev.data); } catch { /* plain text */ }
      if (typeof line === 'string') {
        add(line);
        status.textContent = 'Live';
      }
    };
    ws.onclose = () => {
      ws = null;
      if (closed) return;
      status.textContent = 'Reconnecting…';
      // resume where the file ends now (tail again gives the token)
      timer = setTimeout(async () => {
        try {
          const page = await get(`/log/${kind}/${enc(id)}/tail?limit=1`);
          connect(page && page.resumeToken);
        } catch {
          connect(null);
        }
      }, 3000);
    };
  }

  follow.addEventListener('change', () => { if (follow.checked) box.scrollTop = box.scrollHeight; });
  dl.addEventListener('click', async () => {
    dl.disabled = true;
    try {
      await download(`/log/${kind}/${enc(id)}/download`, filename || `${kind}-${id}.log`);
      announce('Log downloaded');
    } catch (e) {
      status.textContent = `Download failed: ${e.message}`;
    } finally {
      dl.disabled = false;
    }
  });

  start();
  root.close = () => {
    closed = true;
    clearTimeout(timer);
    if (ws) {
      ws.onclose = null;
      ws.close(1000, 'view closed');
    }
  };
  root.lines = () => count;
  return root;
}

// ---- what a pup provides, needs, and may do ----

// Look up a permission group's description in the catalog (manifests of
// every version in every source) and in installed pups.
export function findPermissionGroup(catalog, ifaceName, groupName) {
  for (const m of catalog) {
    for (const iface of (m && m.interfaces) || []) {
      if (iface.name !== ifaceName) continue;
      for (const g of iface.permissionGroups || []) if (g.name === groupName) return g;
    }
  }
  return null;
}

const SEVERITY = { 1: 'critical', 2: 'makes changes', 3: 'read-only' };

export function interfacesList(manifest) {
  const ifs = (manifest && manifest.interfaces) || [];
  if (!ifs.length) return h('p.muted', 'It provides no interfaces to other pups.');
  return h('ul.plain', ifs.map((i) => h('li',
    h('strong', i.name), ' ', h('span.muted', i.version || ''),
    (i.permissionGroups || []).length ? h('ul', (i.permissionGroups || []).map((g) => h('li',
      g.name, g.severity ? ` (${SEVERITY[g.severity] || `severity ${g.severity}`})` : '',
      g.description ? ` — ${g.description}` : ''))) : null)));
}

export function dependenciesList(manifest) {
  const deps = (manifest && manifest.dependencies) || [];
  if (!deps.length) return h('p.muted', 'It needs no other pups.');
  return h('ul.plain', deps.map((d) => h('li',
    h('strong', d.interfaceName), ' ', h('span.muted', d.interfaceVersion || 'any version'),
    d.optional ? [' ', badge('optional')] : null,
    d.source && d.source.pupName ? h('div.small.muted', `Suggested provider: ${d.source.pupName}${d.source.pupVersion ? ` ${d.source.pupVersion}` : ''}`) : null)));
}

// The permissions the pup will be granted: access to other pups' interfaces
// (by permission group), its network reach, ports, resources.
export function permissionsList(manifest, catalog = []) {
  const items = [];
  for (const d of (manifest && manifest.dependencies) || []) {
    const groups = d.permissionGroups || [];
    if (!groups.length) {
      items.push(h('li', `Use the ${d.interfaceName} interface of the pup that provides it`));
      continue;
    }
    for (const gname of groups) {
      const g = findPermissionGroup(catalog, d.interfaceName, gname);
      items.push(h('li',
        `${d.interfaceName}: `, h('strong', gname),
        g && g.severity ? ' ' : null, g && g.severity ? badge(SEVERITY[g.severity] || `severity ${g.severity}`, g.severity === 1 ? 'bad' : g.severity === 2 ? 'warn' : 'idle') : null,
        g && g.description ? h('div.small.muted', g.description) : null));
    }
  }
  const c = (manifest && manifest.container) || {};
  items.push(h('li', c.requiresInternet ? 'Reach the internet' : 'No internet access (only the Dogebox and the pups it depends on)'));
  for (const e of c.exposes || []) {
    if (e.webUI) items.push(h('li', `Serve a web page you can open (${e.name || `port ${e.port}`})`));
    if (e.listenOnHost) items.push(h('li', `Listen on port ${e.port} of your Dogebox (${e.type || 'tcp'}), reachable from your network`));
  }
  const r = c.resources;
  if (r && (r.memory || r.pids)) {
    const parts = [];
    if (r.memory) parts.push(`${Math.round(r.memory / 1048576)} MiB of memory`);
    if (r.pids) parts.push(`${r.pids} processes`);
    items.push(h('li', `Use up to ${parts.join(' and ')}`));
  }
  return h('ul', items);
}

// Mark form fields invalid from {NAME: message}; returns the first input.
export function showFieldErrors(form, errors) {
  let first = null;
  for (const el of form.querySelectorAll('[data-error-for]')) replace(el);
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const [name, msg] of Object.entries(errors)) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    const input = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (!slot) continue;
    slot.textContent = msg;
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      if (!first) first = input;
    }
  }
  return first;
}
