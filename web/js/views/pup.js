// One installed pup: status and actions (start, stop, restart, uninstall,
// purge), its web page, resources and metrics as small charts, the
// configuration form generated from its manifest (errors from the API shown
// at each field), the provider for each dependency, live logs, and what it
// provides, needs and may do.

import { h, replace, uid, logoEl, keepFocus } from '/js/dom.js';
import { get, post, enc } from '/js/api.js';
import { live } from '/js/live.js';
import { navigate, setFlash } from '/js/app.js';
import { loadCatalog, allManifests } from '/js/catalog.js';
import {
  announce, pupStatus, statusBadge, confirmDialog, sparkline, fmtNum, lastValue, logViewer,
  interfacesList, dependenciesList, permissionsList, showFieldErrors, progressBar, setProgress,
} from '/js/ui.js';
import { pupName } from '/js/views/installed.js';

export function pupView(ctx) {
  const [id] = ctx.params;
  const state = () => live.states[id];
  const closers = [];
  ctx.onCleanup(() => { for (const c of closers) c(); });

  if (!state()) {
    ctx.main.append(h('p', h('a', { href: '/installed' }, '← Installed pups')),
      h('div.card', h('h1', 'Pup not found'), h('p', 'No installed pup has this id. It may have been purged.')));
    return;
  }
  const name = pupName(state());
  document.title = `${name} — Dogebox`;

  const head = h('div');
  const actionStatus = h('div#action-status', { role: 'status' });
  const resources = h('div.metrics');
  const metrics = h('div');
  const config = h('div');
  const providers = h('div');
  const about = h('div.cols');
  const logs = logViewer('pup', id, { title: `${name} log`, filename: `${name}.log` });
  closers.push(() => logs.close());

  ctx.main.append(
    h('p', h('a', { href: '/installed' }, '← Installed pups')),
    head, actionStatus,
    h('div.cols',
      h('section.section', { 'aria-labelledby': 'res-h' }, h('h2#res-h', 'Resources'), resources),
      h('section.section', { 'aria-labelledby': 'met-h' }, h('h2#met-h', 'Metrics'), metrics)),
    h('div.cols',
      h('section.section#config', { 'aria-labelledby': 'cfg-h' }, h('h2#cfg-h', 'Configuration'), config),
      h('section.section#providers', { 'aria-labelledby': 'prov-h' }, h('h2#prov-h', 'Dependencies'), providers)),
    h('section.section#logs', { 'aria-labelledby': 'logs-h' }, h('h2#logs-h', 'Logs'), logs),
    h('section', { 'aria-labelledby': 'about-h' }, h('h2#about-h.visually-hidden', 'About'), about));

  // ---- header and actions ----
  let busy = false;
  function drawHead() {
    const s = state();
    if (!s) return;
    const st = pupStatus(s, live.stats[id], live.activeJobFor(id));
    const ready = s.installation === 'ready';
    const buttons = [];
    const btn = (label, key, fn, cls = 'button') => {
      const b = h(cls, { type: 'button', 'data-key': key, disabled: busy }, label);
      b.addEventListener('click', fn);
      buttons.push(b);
    };
    if (ready && !s.enabled) btn('Start', 'start', () => act('enable', `Starting ${name}`), 'button.primary');
    if (ready && s.enabled) btn('Stop', 'stop', () => act('disable', `Stopping ${name}`));
    if (ready && s.enabled && !s.needsConf && !s.needsDeps) btn('Restart', 'restart', restart);
    if (s.installation === 'broken') btn('Retry the install', 'retry', () => act('retry', `Retrying ${name}`), 'button.primary');
    if (s.installation !== 'uninstalled' && s.installation !== 'purging') btn('Uninstall', 'uninstall', uninstall);
    // this API purges from any state (upstream wants an uninstall first)
    if (!['installing', 'upgrading', 'purging'].includes(s.installation)) btn('Purge', 'purge', purge, 'button.danger');
    const webUIs = (s.webUIs || []).filter((w) => w && (w.url || w.port));
    keepFocus(head, () => replace(head,
      h('div.page-head',
        logoEl(live.logoOf(id), name, true),
        h('div', h('h1', name),
          h('div.row', statusBadge(st), h('span.small.muted', `Version ${s.version || (s.manifest.meta || {}).version || '?'}`),
            s.source && s.source.name ? h('span.small.muted', `from ${s.source.name}`) : null)),
        h('span.spacer'),
        webUIs.map((w) => h('a.button.primary', {
          href: webUIUrl(w), target: '_blank', rel: 'noopener noreferrer', 'data-external': '', 'data-key': `web-${w.name || w.port}`,
        }, webUIs.length > 1 ? `Open ${w.name || 'web page'}` : 'Open web page'))),
      st.detail ? h('p.notice', { 'data-tone': 'bad' }, `${name} is broken: ${st.detail}. Uninstall and install it again, or purge it.`) : null,
      s.needsConf ? h('p.notice', { 'data-tone': 'warn' }, `${name} needs configuration before it can start: fill in the form below.`) : null,
      s.needsDeps ? h('p.notice', { 'data-tone': 'warn' }, `${name} needs other pups before it can start: choose a provider for each dependency below.`) : null,
      h('div.row', { role: 'group', 'aria-label': 'Actions' }, buttons)));
  }

  function webUIUrl(w) {
    if (w.url) return new URL(w.url, location.href).href;
    return `${location.protocol}//${location.hostname}:${w.port}/`;
  }

  // Follow a job the action started: progress, then done or failed with
  // the job's log.
  function trackJob(jobId, label) {
    const bar = progressBar(0, label);
    const text = h('p', `${label}…`);
    const logBox = h('div');
    replace(actionStatus, h('div.section', text, bar, logBox));
    const offs = [];
    const end = () => { for (const o of offs.splice(0)) o(); busy = false; drawHead(); };
    closers.push(end);
    offs.push(live.on('progress', ({ id: jid, line }) => {
      if (jid !== jobId) return;
      if (typeof line.progress === 'number') setProgress(bar, line.progress);
      if (line.msg) text.textContent = `${label}: ${line.msg}`;
    }));
    let over = false;
    const onJob = (j) => {
      if (over) return;
      if (typeof j.progress === 'number') setProgress(bar, j.progress);
      if (j.status === 'completed') {
        over = true;
        replace(actionStatus, h('p.notice', { 'data-tone': 'ok' }, `${label}: done.`));
        announce(`${label}: done`);
        end();
      } else if (j.status === 'failed' || j.status === 'cancelled' || j.status === 'orphaned') {
        over = true;
        const lv = logViewer('job', jobId, { title: `${label} job log`, short: true });
        closers.push(() => lv.close());
        replace(actionStatus, h('div.section',
          h('p.notice', { 'data-tone': 'bad', role: 'alert' }, `${label} failed: ${j.errorMessage || j.summaryMessage || j.status}`),
          h('h3', 'Job log'), lv));
        end();
      }
    };
    offs.push(live.on('jobs', (ev) => { if (ev && ev.job && ev.job.id === jobId) onJob(ev.job); }));
    // the job may have finished before the HTTP answer arrived
    if (live.jobs.has(jobId)) onJob(live.jobs.get(jobId));
  }

  async function act(action, label) {
    busy = true;
    drawHead();
    try {
      const res = await post(`/pup/${enc(id)}/${action}`, {});
      const jobId = res && (res.id || res.jobId);
      if (jobId) trackJob(jobId, label);
      else { busy = false; drawHead(); }
      return true;
    } catch (e) {
      busy = false;
      drawHead();
      if (e.status !== 401) replace(actionStatus, h('p.notice', { 'data-tone': 'bad', role: 'alert' }, `${label} failed: ${e.message}`));
      return false;
    }
  }

  async function restart() {
    busy = true;
    drawHead();
    try {
      const res = await post(`/pup/${enc(id)}/restart`, {});
      const jobId = res && (res.id || res.jobId);
      if (jobId) trackJob(jobId, `Restarting ${name}`);
      else { busy = false; drawHead(); }
    } catch (e) {
      if (e.status === 404 || e.status === 400) {
        // An API without a restart action: stop, then start.
        if (await act('disable', `Stopping ${name}`)) await act('enable', `Restarting ${name}`);
        return;
      }
      busy = false;
      drawHead();
      if (e.status !== 401) replace(actionStatus, h('p.notice', { 'data-tone': 'bad', role: 'alert' }, `Restart failed: ${e.message}`));
    }
  }

  async function uninstall() {
    const ok = await confirmDialog({
      title: `Uninstall ${name}?`,
      message: [`${name} stops and its program files are removed.`,
        'Its data (settings, databases, wallets in its storage) is kept, so installing it again picks up where it left off. To delete the data too, purge it after uninstalling.'],
      confirmLabel: 'Uninstall',
    });
    if (ok) act('uninstall', `Uninstalling ${name}`);
  }

  async function purge() {
    const ok = await confirmDialog({
      title: `Purge ${name}?`,
      message: [`Purging deletes all of ${name}'s data from this Dogebox: its storage, settings, databases and any keys or wallets it keeps there.`,
        'This cannot be undone. Make a backup first if you may need the data.'],
      confirmLabel: `Delete ${name}'s data`,
      danger: true,
      typeToConfirm: name,
    });
    if (!ok) return;
    const off = live.on('pups', (ev) => {
      if (ev && ev.purged === id) {
        off();
        setFlash(`${name} was purged.`);
        navigate('/installed', { replace: true });
      }
    });
    closers.push(off);
    act('purge', `Purging ${name}`);
  }

  // ---- resources and metrics ----
  function metricCard(m, key) {
    const v = lastValue(m.values);
    return h('div.metric', { 'data-metric': key },
      h('div.name', m.label || m.name),
      h('div.value', v === null ? '—' : `${fmtNum(typeof v === 'number' ? v : Number.isFinite(+v) && m.type !== 'string' ? +v : v)}${unitOf(m)}`),
      m.type === 'string' ? null : sparkline(m.values, m.label || m.name));
  }
  // systemMetrics: CPU in %, Memory and Disk Usage in MiB (docs/api.md, Stats)
  function unitOf(m) {
    const n = `${m.name || ''} ${m.label || ''}`.toLowerCase();
    if (n.includes('percent') || n.includes('cpu')) return ' %';
    if (n.includes('memory') || n.includes('disk')) return ' MiB';
    return '';
  }
  function drawStats() {
    const st = live.stats[id] || {};
    const sys = st.systemMetrics || [];
    const extra = [];
    if (typeof st.restarts === 'number') extra.push(h('dt', 'Restarts'), h('dd', String(st.restarts)));
    if (st.lastExit) extra.push(h('dt', 'Last exit'), h('dd', st.lastExit));
    replace(resources, sys.length ? sys.map((m) => metricCard(m, `sys-${m.name}`))
      : h('p.muted', 'No measurements yet: they appear while the pup runs.'));
    if (extra.length) resources.append(h('dl.kv.extra', extra));
    const declared = (state() && state().manifest.metrics) || [];
    const values = st.metrics || [];
    if (!declared.length && !values.length) {
      replace(metrics, h('p.muted', `${name} reports no metrics.`));
    } else {
      const byName = Object.fromEntries(values.map((m) => [m.name, m]));
      replace(metrics, h('div.metrics', declared.map((d) => metricCard({ ...d, ...(byName[d.name] || { values: [] }) }, `m-${d.name}`))));
    }
  }

  // ---- configuration ----
  function fieldControl(f, value, ids) {
    const common = {
      id: ids.input, name: f.name, 'data-field': f.name,
      'aria-describedby': [f.help ? ids.help : null, ids.error].filter(Boolean).join(' '),
    };
    const opts = (f.options || []).map((o) => (typeof o === 'string' ? { label: o, value: o } : o));
    switch (f.type) {
      case 'toggle':
      case 'checkbox':
        return h('input', { ...common, type: 'checkbox', checked: String(value) === 'true' });
      case 'textarea':
        return h('textarea', { ...common, placeholder: f.placeholder, value: value ?? '' });
      case 'select':
        return h('select', common,
          f.required ? null : h('option', { value: '' }, '(none)'),
          opts.map((o) => h('option', { value: o.value, selected: String(value) === String(o.value) }, o.label ?? o.value)));
      case 'radio':
        return h('div', { role: 'radiogroup', 'aria-labelledby': ids.label, 'data-field': f.name, 'aria-describedby': common['aria-describedby'] },
          opts.map((o, i) => {
            const rid = `${ids.input}-${i}`;
            return h('div.radio-opt', h('input', { type: 'radio', id: rid, name: f.name, value: o.value, checked: String(value) === String(o.value) }),
              h('label', { for: rid }, o.label ?? o.value));
          }));
      case 'number':
      case 'range': {
        const input = h('input', { ...common, type: f.type === 'range' ? 'range' : 'number', min: f.min, max: f.max, step: f.step ?? 'any', value: value ?? '', placeholder: f.placeholder });
        if (f.type !== 'range') return input;
        const out = h('output', { for: ids.input }, String(value ?? ''));
        input.addEventListener('input', () => { out.textContent = input.value; });
        return h('div.row', input, out);
      }
      case 'password':
        return h('input', { ...common, type: 'password', autocomplete: 'new-password', value: value ?? '', placeholder: f.placeholder });
      case 'email':
      case 'date':
      case 'color':
        return h('input', { ...common, type: f.type, value: value ?? '', placeholder: f.placeholder });
      default:
        return h('input', { ...common, type: 'text', value: value ?? '', placeholder: f.placeholder });
    }
  }

  function collect(form, fields) {
    const out = {};
    for (const f of fields) {
      if (f.type === 'radio') {
        const c = form.querySelector(`input[type=radio][name="${CSS.escape(f.name)}"]:checked`);
        out[f.name] = c ? c.value : '';
        continue;
      }
      const el = form.querySelector(`[data-field="${CSS.escape(f.name)}"]`);
      if (!el) continue;
      out[f.name] = el.type === 'checkbox' ? el.checked : el.value;
    }
    return out;
  }

  // "NAME: message" inside a plain error message, for APIs that do not list
  // field errors separately.
  function errorsFromMessage(msg, fields) {
    const out = {};
    for (const f of fields) {
      const re = new RegExp(`(?:^|[;\\n]\\s*)(?:config field )?${f.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\s*([^;\\n]+)`);
      const m = re.exec(msg || '');
      if (m) out[f.name] = m[1].trim();
    }
    return out;
  }

  function drawConfig() {
    const s = state();
    const sections = (s.manifest.config && s.manifest.config.sections) || [];
    const fields = sections.flatMap((sec) => sec.fields || []);
    if (!fields.length) {
      replace(config, h('p.muted', `${name} has no settings.`));
      return;
    }
    const values = s.config || {};
    const formStatus = h('p.notice#config-status', { role: 'status' });
    const save = h('button.primary', { type: 'submit' }, 'Save configuration');
    const form = h('form#config-form', { novalidate: true },
      sections.map((sec) => h('fieldset',
        h('legend', sec.label || sec.name),
        (sec.fields || []).map((f) => {
          const ids = { input: uid('f'), help: uid('help'), error: uid('err'), label: uid('lbl') };
          const value = values[f.name] ?? (f.default !== undefined ? String(f.default) : '');
          const control = fieldControl(f, value, ids);
          const label = f.type === 'radio'
            ? h('span.label', { id: ids.label }, h('strong', f.label || f.name))
            : h('label', { for: ids.input, id: ids.label }, f.label || f.name, f.required ? h('span.req', ' (required)') : null);
          const isCheck = f.type === 'toggle' || f.type === 'checkbox';
          return h(isCheck ? 'div.field.check' : 'div.field',
            isCheck ? [control, label] : [label, control],
            f.help ? h('div.help', { id: ids.help }, f.help) : null,
            h('div.error', { id: ids.error, 'data-error-for': f.name }));
        }))),
      formStatus, save);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      formStatus.textContent = '';
      formStatus.dataset.tone = 'info';
      showFieldErrors(form, {});
      save.disabled = true;
      const body = collect(form, fields);
      const fail = (msg, errs) => {
        const first = showFieldErrors(form, errs);
        formStatus.dataset.tone = 'bad';
        formStatus.setAttribute('role', 'alert');
        formStatus.textContent = Object.keys(errs).length ? `Not saved: fix the field${Object.keys(errs).length > 1 ? 's' : ''} marked below. ${msg}` : `Not saved: ${msg}`;
        if (first) first.focus();
      };
      try {
        const res = await post(`/config/${enc(id)}`, body);
        formStatus.textContent = 'Saved.';
        announce('Configuration saved');
        const jobId = res && (res.id || res.jobId);
        if (jobId) {
          const r = await live.waitAction(jobId);
          if (r && r.error) fail(r.error, errorsFromMessage(r.error, fields));
        }
      } catch (e) {
        if (e.status === 401) return;
        const errs = Object.keys(e.fields).length ? e.fields : errorsFromMessage(e.message, fields);
        fail(e.message, errs);
      } finally {
        save.disabled = false;
      }
    });
    replace(config, form);
  }

  // ---- providers ----
  async function drawProviders() {
    const s = state();
    const deps = s.manifest.dependencies || [];
    if (!deps.length) {
      replace(providers, h('p.muted', `${name} needs no other pups.`));
      return;
    }
    replace(providers, h('p.muted', 'Loading…'));
    let reports;
    try {
      reports = await get(`/providers/${enc(id)}`);
    } catch (e) {
      if (e.status !== 401) replace(providers, h('p.notice', { 'data-tone': 'bad' }, `Cannot load the providers: ${e.message}`));
      return;
    }
    const status = h('p.notice', { role: 'status' });
    const selects = [];
    const rows = (reports || []).map((r) => {
      const sid = uid('prov');
      const installed = r.installedProviders || [];
      const label = h('label', { for: sid }, `${r.interface}${r.version ? ` (${r.version})` : ''}${r.optional ? ' — optional' : ''}`);
      if (!installed.length) {
        const installable = r.InstallableProviders || r.installableProviders || [];
        return h('div.field', h('strong', r.interface), h('p.small',
          'No installed pup provides it. ',
          installable.length ? `Install ${installable.map((p) => `${p.pupName} ${p.pupVersion}`).join(' or ')} from the store. ` : '',
          h('a', { href: `/store?q=${encodeURIComponent(r.interface)}` }, 'Search the store')));
      }
      const sel = h('select', { id: sid, 'data-iface': r.interface },
        r.currentProvider ? null : h('option', { value: '' }, '(choose a pup)'),
        installed.map((pid) => h('option', { value: pid, selected: pid === r.currentProvider }, pupName(live.states[pid]) || pid)));
      selects.push(sel);
      return h('div.field', label, sel);
    });
    const save = h('button.primary', { type: 'submit' }, 'Save providers');
    const form = h('form', { novalidate: true }, rows, status, selects.length ? save : null);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = {};
      for (const sel of selects) if (sel.value) body[sel.dataset.iface] = sel.value;
      save.disabled = true;
      status.dataset.tone = 'info';
      status.textContent = 'Saving…';
      try {
        const res = await post(`/providers/${enc(id)}`, body);
        const jobId = res && (res.id || res.jobId);
        const r = jobId ? await live.waitAction(jobId, 15000) : null;
        if (r && r.error) throw new Error(r.error);
        status.dataset.tone = 'ok';
        status.textContent = 'Providers saved.';
        announce('Providers saved');
      } catch (e) {
        if (e.status === 401) return;
        status.dataset.tone = 'bad';
        status.textContent = `Not saved: ${e.message}`;
      } finally {
        save.disabled = false;
      }
    });
    replace(providers, form);
  }

  // ---- about ----
  function drawAbout(catalog) {
    const m = state().manifest;
    replace(about,
      h('section.section', h('h3', 'What it may do'), permissionsList(m, allManifests(catalog, live.states))),
      h('section.section', h('h3', 'Interfaces it provides'), interfacesList(m)),
      h('section.section', h('h3', 'What it depends on'), dependenciesList(m)));
  }

  let lastManifestVersion = state().version;
  ctx.onCleanup(live.on('pups', (ev) => {
    if (ev && ev.purged === id) return;
    if (!state()) return;
    drawHead();
    if (state().version !== lastManifestVersion) {
      lastManifestVersion = state().version;
      drawConfig();
      drawProviders();
    }
  }));
  ctx.onCleanup(live.on('stats', () => { drawHead(); drawStats(); }));
  ctx.onCleanup(live.on('jobs', drawHead));
  drawHead();
  drawStats();
  drawConfig();
  drawProviders();
  drawAbout({});
  loadCatalog().then((c) => { if (state()) drawAbout(c); }).catch(() => {});
}
