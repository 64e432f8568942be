// Activity: every job (installs, starts, stops, ...) with its progress,
// its error and its log, live from /ws/jobs.

import { h, replace, dateTime, duration, keepFocus } from '/js/dom.js';
import { post } from '/js/api.js';
import { live } from '/js/live.js';
import { announce, badge, progressBar, logViewer } from '/js/ui.js';

const TONES = { queued: 'idle', in_progress: 'info', completed: 'ok', failed: 'bad', cancelled: 'warn', orphaned: 'warn' };
const LABELS = { queued: 'Queued', in_progress: 'In progress', completed: 'Done', failed: 'Failed', cancelled: 'Cancelled', orphaned: 'Interrupted' };
const JOBS_SHOWN_MAX = 200;
const DRAW_THROTTLE_MS = 200; // progress can arrive many times a second

export function activityView(ctx) {
  document.title = 'Activity — Dogebox';
  const list = h('ul.plain#jobs', { 'aria-label': 'Jobs' });
  const err = h('p.notice', { 'data-tone': 'bad', role: 'alert' });
  const clearBtn = h('button', { type: 'button' }, 'Clear finished jobs');
  ctx.main.append(h('div.page-head', h('h1', 'Activity'), clearBtn), err, h('section.section', list));
  const open = new Map(); // jobId -> log viewer
  ctx.onCleanup(() => { for (const v of open.values()) v.close(); });

  let pending = null;
  function draw() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; keepFocus(list, drawList); }, DRAW_THROTTLE_MS);
  }
  ctx.onCleanup(() => clearTimeout(pending));

  function drawList() {
    const jobs = [...live.jobs.values()].sort((a, b) => String(b.started || '').localeCompare(String(a.started || ''))).slice(0, JOBS_SHOWN_MAX);
    if (!jobs.length) {
      replace(list, h('li.empty', 'Nothing has happened yet. Installs, starts and stops show up here.'));
      return;
    }
    replace(list, jobs.map((j) => {
      const active = j.status === 'queued' || j.status === 'in_progress';
      const toggle = h('button.link', { type: 'button', 'aria-expanded': open.has(j.id) ? 'true' : 'false', 'data-key': `log-${j.id}` },
        open.has(j.id) ? 'Hide log' : 'Show log');
      toggle.addEventListener('click', () => {
        if (open.has(j.id)) {
          open.get(j.id).close();
          open.delete(j.id);
        } else {
          open.set(j.id, logViewer('job', j.id, { title: `Log of ${j.displayName || j.id}`, short: true }));
        }
        draw();
      });
      const name = j.displayName || j.action || 'Job';
      return h('li', { 'data-job': j.id, 'data-status': j.status },
        h('div.row', h('strong', name), badge(LABELS[j.status] || j.status, TONES[j.status] || 'idle'),
          h('span.spacer'), h('span.small.muted', `${dateTime(j.started)}${j.started ? ` · ${duration(j.started, j.finished)}` : ''}`)),
        active ? progressBar(j.progress, `${name} progress`) : null,
        j.summaryMessage && j.status !== 'failed' ? h('div.small.muted', j.summaryMessage) : null,
        j.errorMessage ? h('p.notice', { 'data-tone': 'bad' }, j.errorMessage) : null,
        toggle,
        open.get(j.id) || null);
    }));
  }

  clearBtn.addEventListener('click', async () => {
    clearBtn.disabled = true;
    err.textContent = '';
    try {
      const r = await post('/jobs/clear-completed', {});
      for (const [jid, j] of [...live.jobs]) {
        if (!['queued', 'in_progress'].includes(j.status)) live.jobs.delete(jid);
      }
      announce(`Cleared ${r && typeof r.cleared === 'number' ? r.cleared : ''} finished jobs`);
      draw();
    } catch (e) {
      if (e.status !== 401) err.textContent = `Cannot clear: ${e.message}`;
    } finally {
      clearBtn.disabled = false;
    }
  });

  ctx.onCleanup(live.on('jobs', draw));
  ctx.onCleanup(live.on('progress', (ev) => { if (ev && live.jobs.has(ev.id)) draw(); }));
  keepFocus(list, drawList);
}
