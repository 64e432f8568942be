// Live state from the same WebSocket messages upstream sends
// (reference: upstream-api.md §5): /ws/state/ carries bootstrap, pup,
// pup_purged, stats, progress and action; /ws/jobs carries the job list and
// job:* events. Both are kept open while signed in and reconnect with
// backoff. Views subscribe with live.on(kind, fn) and unsubscribe on leave.

import { get, wsUrl } from '/js/api.js';

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 15000;
const PROGRESS_LINES_MAX = 300; // per job, kept for the install/activity views
const SEEN_SEQ_MAX = 2048;      // duplicate suppression when both sockets carry an event
const ACTIONS_KEPT = 64;        // action results that arrived before anyone waited

class Live {
  constructor() {
    this.boot = null;
    this.states = {};
    this.stats = {};
    this.assets = {};
    this.jobs = new Map();
    this.progress = new Map();
    this.actions = new Map();
    this.waiters = new Map();
    this.listeners = new Map();
    this.sockets = {};
    this.running = false;
    this.seen = new Set();
    this.seenOrder = [];
    this.connState = 'idle';
  }

  on(kind, fn) {
    if (!this.listeners.has(kind)) this.listeners.set(kind, new Set());
    this.listeners.get(kind).add(fn);
    return () => this.listeners.get(kind).delete(fn);
  }

  emit(kind, detail) {
    for (const fn of [...(this.listeners.get(kind) || [])]) {
      try { fn(detail); } catch (e) { console.warn('listener failed', e); }
    }
  }

  setBootstrap(b) {
    if (!b || typeof b !== 'object') return;
    this.boot = b;
    this.states = { ...(b.states || {}) };
    this.stats = { ...(b.stats || {}) };
    this.assets = { ...(b.assets || {}) };
    this.emit('pups');
    this.emit('stats');
  }

  async refresh() {
    this.setBootstrap(await get('/system/bootstrap'));
    return this.boot;
  }

  logoOf(id) {
    const a = this.assets[id];
    return (a && a.logos && a.logos.mainLogoBase64) || (this.states[id] && this.states[id].logoBase64) || '';
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.open('state', '/ws/state/');
    this.open('jobs', '/ws/jobs');
  }

  stop() {
    this.running = false;
    for (const s of Object.values(this.sockets)) {
      clearTimeout(s.timer);
      if (s.ws) {
        s.ws.onclose = null;
        s.ws.onerror = null;
        s.ws.onmessage = null;
        if (s.ws.readyState <= WebSocket.OPEN) s.ws.close(1000, 'signed out');
      }
    }
    this.sockets = {};
    this.setConn('idle');
  }

  setConn(state) {
    if (this.connState === state) return;
    this.connState = state;
    this.emit('conn', state);
  }

  open(name, path) {
    const s = this.sockets[name] || (this.sockets[name] = { delay: RECONNECT_MIN_MS });
    const ws = new WebSocket(wsUrl(path));
    s.ws = ws;
    s.opened = false;
    ws.onopen = () => {
      s.opened = true;
      s.delay = RECONNECT_MIN_MS;
      this.updateConn();
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      this.handle(name, msg);
    };
    ws.onclose = () => {
      s.ws = null;
      this.updateConn();
      if (!this.running) return;
      if (!s.opened) {
        // The upgrade was refused: maybe the session ended. A REST call
        // tells (a 401 there sends the owner to the login screen).
        get('/system/bootstrap').then((b) => this.setBootstrap(b)).catch(() => {});
      }
      s.timer = setTimeout(() => { if (this.running) this.open(name, path); }, s.delay);
      s.delay = Math.min(s.delay * 2, RECONNECT_MAX_MS);
    };
  }

  updateConn() {
    const all = Object.values(this.sockets);
    const up = all.filter((s) => s.ws && s.ws.readyState === WebSocket.OPEN).length;
    this.setConn(up === all.length && up > 0 ? 'live' : 'down');
  }

  duplicate(msg) {
    if (!msg.seq) return false;
    const key = `${msg.seq}:${msg.type}`;
    if (this.seen.has(key)) return true;
    this.seen.add(key);
    this.seenOrder.push(key);
    if (this.seenOrder.length > SEEN_SEQ_MAX) this.seen.delete(this.seenOrder.shift());
    return false;
  }

  handle(channel, msg) {
    if (!msg || typeof msg !== 'object' || this.duplicate(msg)) return;
    const u = msg.update;
    switch (msg.type) {
      case 'bootstrap':
        if (channel === 'jobs' || (u && Array.isArray(u.jobs))) {
          this.jobs = new Map();
          for (const j of (u && u.jobs) || []) if (j && j.id) this.jobs.set(j.id, j);
          this.emit('jobs');
        } else {
          this.setBootstrap(u);
        }
        break;
      case 'pup':
        if (u && u.id) {
          this.states[u.id] = u;
          this.emit('pups', u);
        }
        break;
      case 'pup_purged':
        if (u && u.pupId) {
          delete this.states[u.pupId];
          delete this.stats[u.pupId];
          this.emit('pups', { purged: u.pupId });
        }
        break;
      case 'stats':
        for (const s of Array.isArray(u) ? u : []) if (s && s.id) this.stats[s.id] = s;
        this.emit('stats');
        break;
      case 'progress': {
        const id = msg.id || (u && u.actionID);
        if (!id || !u) break;
        const lines = this.progress.get(id) || [];
        lines.push(u);
        if (lines.length > PROGRESS_LINES_MAX) lines.splice(0, lines.length - PROGRESS_LINES_MAX);
        this.progress.set(id, lines);
        const job = this.jobs.get(id);
        if (job && typeof u.progress === 'number' && u.progress > (job.progress || 0)) {
          this.jobs.set(id, { ...job, progress: u.progress, summaryMessage: u.msg || job.summaryMessage });
        }
        this.emit('progress', { id, line: u });
        break;
      }
      case 'action': {
        const result = { id: msg.id, error: msg.error || '', update: u };
        const w = this.waiters.get(msg.id);
        if (w) {
          this.waiters.delete(msg.id);
          w(result);
        } else {
          this.actions.set(msg.id, result);
          if (this.actions.size > ACTIONS_KEPT) this.actions.delete(this.actions.keys().next().value);
        }
        if (u && u.id && u.manifest) {
          this.states[u.id] = u;
          this.emit('pups', u);
        }
        this.emit('action', result);
        break;
      }
      default:
        if (typeof msg.type === 'string' && msg.type.startsWith('job:') && u && u.id) {
          if (msg.type === 'job:deleted') this.jobs.delete(u.id);
          else this.jobs.set(u.id, u);
          this.emit('jobs', { type: msg.type, job: u });
        }
    }
  }

  // The result of an action (config, providers, ...): resolves with
  // {error, update}, or null after timeoutMs.
  waitAction(id, timeoutMs = 45000) {
    if (this.actions.has(id)) {
      const r = this.actions.get(id);
      this.actions.delete(id);
      return Promise.resolve(r);
    }
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.waiters.delete(id); resolve(null); }, timeoutMs);
      this.waiters.set(id, (r) => { clearTimeout(t); resolve(r); });
    });
  }

  activeJobFor(pupId) {
    for (const j of this.jobs.values()) {
      if (j.pupID === pupId && (j.status === 'queued' || j.status === 'in_progress')) return j;
    }
    return null;
  }
}

export const live = new Live();
