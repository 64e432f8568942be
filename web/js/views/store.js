// The store: sources with their status, search, pup cards; a pup's page
// with its versions, what it provides and needs and the permissions it
// gets; Install shows the dependency plan, then live progress to running
// (or the reason it failed and the job's log).

import { h, replace, uid, timeAgo, logoEl, listRole } from '/js/dom.js';
import { put, enc } from '/js/api.js';
import { live } from '/js/live.js';
import { loadCatalog, listPups, sortedVersions, allManifests, dependencyPlan } from '/js/catalog.js';
import {
  announce, badge, progressBar, setProgress, interfacesList, dependenciesList, permissionsList,
  logViewer, pupStatus, statusBadge,
} from '/js/ui.js';

function installedMatch(sourceId, name) {
  return Object.values(live.states).find((s) => s && s.manifest && s.manifest.meta &&
    s.manifest.meta.name === name && (!s.source || !s.source.id || s.source.id === sourceId)) || null;
}

function sourceStatus(id, src) {
  return h('li', { 'data-source': id },
    h('div.row',
      h('strong', src.name || id), badge(src.type || 'source'),
      src.error ? badge('Error', 'bad') : badge('OK', 'ok'),
      h('span.spacer'),
      h('span.small.muted', `Last refreshed ${timeAgo(src.lastChecked)}`)),
    h('div.small.muted.mono', src.location || ''),
    src.error ? h('p.notice', { 'data-tone': 'bad' }, src.error) : null);
}

export function storeView(ctx) {
  document.title = 'Store — Dogebox';
  const searchId = uid('search');
  const search = h('input', { type: 'search', id: searchId, placeholder: 'Name, description or interface', value: ctx.query.get('q') || '' });
  const refresh = h('button', { type: 'button' }, 'Refresh sources');
  const sourcesBox = h('ul.plain', { 'aria-label': 'Sources' });
  const grid = h('div.grid');
  const count = h('p.small.muted', { role: 'status' });
  const err = h('p.notice', { 'data-tone': 'bad', role: 'alert' });
  ctx.main.append(
    h('div.page-head', h('h1', 'Pup store'), refresh),
    h('section.section', { 'aria-labelledby': 'sources-h' },
      h('h2#sources-h', 'Sources'), err, sourcesBox),
    h('section', { 'aria-labelledby': 'pups-h' },
      h('h2#pups-h.visually-hidden', 'Pups'),
      h('div.field', h('label', { for: searchId }, 'Search pups'), search),
      count, grid));

  let catalog = null;

  function draw() {
    const q = search.value.trim().toLowerCase();
    const pups = listPups(catalog);
    const shown = pups.filter((p) => {
      if (!q) return true;
      const m = p.manifest || {};
      const hay = [p.name, p.source.name, (m.meta || {}).shortDescription, (m.meta || {}).longDescription,
        ...(m.interfaces || []).map((i) => i.name)].join(' ').toLowerCase();
      return hay.includes(q);
    });
    replace(sourcesBox, Object.entries(catalog).map(([id, src]) => sourceStatus(id, src)));
    if (!Object.keys(catalog).length) {
      sourcesBox.append(h('li.empty', 'No sources yet. ', h('a', { href: '/settings', 'data-nav': '' }, 'Add a source in Settings'), ' to see pups here.'));
    }
    replace(grid, shown.map((p) => {
      const m = p.manifest || {};
      const inst = installedMatch(p.sourceId, p.name);
      return h('article.card.pupcard', { role: 'listitem', 'data-pup': p.name },
        h('div.pupcard-head', logoEl(p.entry.logoBase64, p.name),
          h('div', h('h2', h('a', { href: `/store/${enc(p.sourceId)}/${enc(p.name)}` }, p.name)),
            h('span.small.muted', `${p.latest} · ${p.source.name || p.sourceId}`))),
        h('p', (m.meta && m.meta.shortDescription) || 'No description.'),
        inst ? h('div.row', badge('Installed', 'ok')) : null);
    }));
    count.textContent = q ? `${shown.length} of ${pups.length} pups match “${search.value.trim()}”` : `${pups.length} pup${pups.length === 1 ? '' : 's'}`;
    listRole(grid, shown.length > 0, 'Pups');
    if (pups.length && !shown.length) grid.append(h('p.empty', 'No pup matches your search.'));
  }

  async function load(force) {
    err.textContent = '';
    refresh.disabled = true;
    try {
      catalog = await loadCatalog({ refresh: force });
      draw();
      if (force) announce('Sources refreshed');
    } catch (e) {
      if (e.status !== 401) err.textContent = `Cannot load the store: ${e.message}`;
    } finally {
      refresh.disabled = false;
    }
  }

  search.addEventListener('input', () => {
    if (catalog) draw();
    const q = search.value.trim();
    history.replaceState(null, '', q ? `/store?q=${encodeURIComponent(q)}` : '/store');
  });
  refresh.addEventListener('click', () => load(true));
  ctx.onCleanup(live.on('pups', () => { if (catalog) draw(); }));
  load(false);
}

export function storePupView(ctx) {
  const [sourceId, name] = ctx.params;
  document.title = `${name} — Store — Dogebox`;
  const body = h('div.stack', h('p.muted', 'Loading…'));
  ctx.main.append(h('p', h('a', { href: '/store' }, '← Store')), body);
  let installer = null;
  const panels = [];
  ctx.onCleanup(() => { for (const p of panels) p.close(); });

  loadCatalog().then((catalog) => {
    const src = catalog[sourceId];
    const entry = src && src.pups && src.pups[name];
    if (!entry) {
      replace(body, h('div.card', h('h1', 'Pup not found'),
        h('p', `The source ${sourceId} has no pup called ${name}.`)));
      return;
    }
    const versions = sortedVersions(entry);
    const verId = uid('ver');
    const select = h('select', { id: verId }, versions.map((v) => h('option', { value: v, selected: v === (entry.latestVersion || versions[0]) }, v)));
    const details = h('div.cols');
    const action = h('div');
    const head = h('div.page-head',
      logoEl(entry.logoBase64, name, true),
      h('div', h('h1', name), h('p.muted', `From ${src.name || sourceId}`)));
    replace(body, head,
      h('div.section.stack',
        h('div.row', h('div.field', h('label', { for: verId }, 'Version'), select), h('span.spacer'), action)),
      details);

    function draw() {
      const v = select.value;
      const m = entry.versions[v] || {};
      const meta = m.meta || {};
      const catalogManifests = allManifests(catalog, live.states);
      const upstream = Object.entries(meta.upstreamVersions || {});
      replace(details,
        h('section.section', { 'aria-labelledby': 'about-h' },
          h('h2#about-h', 'About'),
          h('p', meta.shortDescription || ''),
          meta.longDescription ? meta.longDescription.split(/\n{2,}/).map((p) => h('p.muted', p)) : null,
          h('h3', 'Upstream versions'),
          upstream.length ? h('dl.kv', upstream.map(([k, val]) => [h('dt', k), h('dd', val)])) : h('p.muted', 'None listed.'),
          h('h3', 'Versions in this source'),
          h('p', versions.join(', '))),
        h('section.section', { 'aria-labelledby': 'perm-h' },
          h('h2#perm-h', 'Permissions it will be granted'),
          permissionsList(m, catalogManifests)),
        h('section.section', { 'aria-labelledby': 'iface-h' },
          h('h2#iface-h', 'Interfaces it provides'), interfacesList(m)),
        h('section.section', { 'aria-labelledby': 'deps-h' },
          h('h2#deps-h', 'Dependencies'), dependenciesList(m)));
      drawAction();
    }

    function drawAction() {
      const inst = installedMatch(sourceId, name);
      if (inst && !installer) {
        const st = pupStatus(inst, live.stats[inst.id], live.activeJobFor(inst.id));
        replace(action, h('div.row', statusBadge(st),
          h('a.button.primary', { href: `/installed/${enc(inst.id)}` }, `Open ${name}`)));
        return;
      }
      if (installer) return;
      const btn = h('button.primary', { type: 'button' }, 'Install');
      btn.addEventListener('click', () => showPlan());
      replace(action, btn);
    }

    function showPlan() {
      const v = select.value;
      const m = entry.versions[v];
      const plan = dependencyPlan(m, sourceId, catalog, live.states);
      const autoDeps = plan.some((p) => p.kind === 'install');
      const go = h('button.primary', { type: 'button' }, `Install ${name} ${v}`);
      const cancel = h('button', { type: 'button' }, 'Cancel');
      const err = h('p.notice', { 'data-tone': 'bad', role: 'alert' });
      const items = [];
      for (const p of plan) {
        const what = p.dep.optional ? ' (optional)' : '';
        if (p.kind === 'installed') {
          items.push(h('li', `${p.dep.interfaceName}${what}: use the installed ${p.pup.manifest.meta.name}`));
        } else if (p.kind === 'install') {
          items.push(h('li', `${p.dep.interfaceName}${what}: install ${p.pup.name} ${p.pup.version} from ${p.pup.source.name || p.pup.sourceId} first`));
        } else {
          items.push(h('li', `${p.dep.interfaceName}${what}: no pup in your sources provides it${p.dep.optional ? '' : `, so ${name} will need it before it can start`}`));
        }
      }
      items.push(h('li', h('strong', `Install ${name} ${v}`), ` from ${src.name || sourceId}`));
      const panel = h('section.section#install-plan', { 'aria-labelledby': 'plan-h' },
        h('h2#plan-h', 'Install plan'),
        h('p', plan.length ? 'Installing will do the following:' : `${name} needs no other pups.`),
        h('ol', items),
        err,
        h('div.row', go, cancel));
      details.before(panel);
      panel.querySelector('h2').setAttribute('tabindex', '-1');
      panel.querySelector('h2').focus();
      cancel.addEventListener('click', () => { panel.remove(); action.querySelector('button')?.focus(); });
      go.addEventListener('click', async () => {
        go.disabled = true;
        cancel.disabled = true;
        select.disabled = true;
        err.textContent = '';
        try {
          const res = await put('/pup', {
            sourceId, pupName: name, pupVersion: v,
            autoInstallDependencies: autoDeps, installWithDevModeEnabled: false,
          });
          panel.remove();
          installer = installProgress(res && (res.id || res.jobId), sourceId, name, v, () => { installer = null; select.disabled = false; drawAction(); });
          panels.push(installer);
          details.before(installer);
          drawAction();
        } catch (e) {
          err.textContent = `The install could not start: ${e.message}`;
          go.disabled = false;
          cancel.disabled = false;
          select.disabled = false;
        }
      });
    }

    select.addEventListener('change', draw);
    ctx.onCleanup(live.on('pups', () => drawAction()));
    ctx.onCleanup(live.on('stats', () => drawAction()));
    draw();
  }).catch((e) => {
    if (e.status !== 401) replace(body, h('p.notice', { 'data-tone': 'bad', role: 'alert' }, `Cannot load the store: ${e.message}`));
  });
}

// Live progress of an install: the job's progress messages, then the pup's
// own state until it runs; on failure the reason and the job log.
function installProgress(jobId, sourceId, name, version, onDone) {
  const title = h('h2#progress-h', { tabindex: '-1' }, `Installing ${name} ${version}`);
  const bar = progressBar(0, `Installing ${name}`);
  const step = h('p#install-step', { role: 'status' }, 'Waiting for the install to start…');
  const lines = h('div.log.short', { role: 'log', 'aria-label': 'Install messages', tabindex: 0 });
  const result = h('div');
  const panel = h('section.section#install-progress', { 'aria-labelledby': 'progress-h' }, title, bar, step, lines, result);
  const offs = [];
  let finished = false;
  let logView = null;
  let pupId = null;

  function addLine(l) {
    lines.append(h(l.error ? 'div.err' : 'div', l.msg || ''));
    lines.scrollTop = lines.scrollHeight;
  }
  for (const l of live.progress.get(jobId) || []) addLine(l);

  function fail(reason) {
    if (finished) return;
    finished = true;
    step.textContent = 'The install failed.';
    title.textContent = `${name} ${version} was not installed`;
    replace(result,
      h('p.notice#install-error', { 'data-tone': 'bad', role: 'alert' }, reason || 'The install failed.'),
      h('h3', 'Job log'));
    if (jobId) {
      logView = logViewer('job', jobId, { title: 'Install job log', short: true, filename: `install-${name}.log` });
      result.append(logView);
    }
    if (pupId) result.append(h('p', h('a', { href: `/installed/${enc(pupId)}` }, `Open ${name} to retry, uninstall or purge it`)));
    stop();
  }

  function succeed(st) {
    if (finished) return;
    finished = true;
    setProgress(bar, 100);
    title.textContent = `${name} ${version} is installed`;
    const outcome = {
      'needs-config': `${name} is installed and needs configuration before it starts.`,
      'needs-deps': `${name} is installed and needs a provider for each dependency before it starts.`,
    }[st.key] || `${name} is ${st.label.toLowerCase()}.`;
    step.textContent = outcome;
    const webUI = (live.states[pupId] && live.states[pupId].webUIs) || [];
    replace(result,
      h('p.notice#install-done', { 'data-tone': st.key === 'running' ? 'ok' : 'warn', role: 'status', 'data-status': st.key }, outcome),
      h('div.row', h('a.button.primary', { href: `/installed/${enc(pupId)}` }, `Open ${name}`),
        webUI.length ? h('span.small.muted', 'Its web page is linked from its page.') : null));
    announce(outcome);
    stop();
  }

  function check() {
    const s = Object.values(live.states).find((x) => x && x.manifest && x.manifest.meta &&
      x.manifest.meta.name === name && (!x.source || !x.source.id || x.source.id === sourceId));
    if (!s) return;
    pupId = s.id;
    const st = pupStatus(s, live.stats[s.id], null);
    if (s.installation === 'broken') { fail(`${name} is broken: ${s.brokenReason || 'no reason given'}`); return; }
    if (s.installation === 'ready') {
      if (st.key === 'running' || st.key === 'needs-config' || st.key === 'needs-deps') succeed(st);
      else step.textContent = `Installed, ${st.label.toLowerCase()}`;
    }
  }

  offs.push(live.on('progress', ({ id, line }) => {
    if (id !== jobId || finished) return;
    addLine(line);
    if (typeof line.progress === 'number') setProgress(bar, line.progress);
    if (line.msg) step.textContent = line.msg;
    if (line.error && line.msg) step.textContent = `Error: ${line.msg}`;
  }));
  offs.push(live.on('jobs', (ev) => {
    if (!ev || !ev.job || ev.job.id !== jobId || finished) return;
    const j = ev.job;
    if (typeof j.progress === 'number') setProgress(bar, j.progress);
    if (j.pupID) pupId = pupId || j.pupID;
    if (j.status === 'failed' || j.status === 'cancelled' || j.status === 'orphaned') {
      fail(j.errorMessage || j.summaryMessage || `The install job ${j.status}.`);
    } else {
      check();
    }
  }));
  offs.push(live.on('pups', check));
  offs.push(live.on('stats', check));
  check();
  // the job may have failed before the HTTP answer arrived
  const j0 = jobId && live.jobs.get(jobId);
  if (j0 && ['failed', 'cancelled', 'orphaned'].includes(j0.status)) {
    fail(j0.errorMessage || j0.summaryMessage || `The install job ${j0.status}.`);
  }

  function stop() {
    for (const off of offs.splice(0)) off();
    onDone();
  }
  panel.close = () => {
    for (const off of offs.splice(0)) off();
    if (logView) logView.close();
  };
  setTimeout(() => title.focus(), 0);
  return panel;
}
