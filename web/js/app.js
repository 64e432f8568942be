// The panel's entry: session guard, client-side routes (History API; the
// daemon answers every non-API path with index.html), the shell, and the
// rule that a 401 anywhere returns to the login screen.

import { session, onUnauthorized, get, post } from '/js/api.js';
import { live } from '/js/live.js';
import { h, replace } from '/js/dom.js';
import { setupView } from '/js/views/setup.js';
import { loginView } from '/js/views/login.js';
import { storeView, storePupView } from '/js/views/store.js';
import { installedView } from '/js/views/installed.js';
import { pupView } from '/js/views/pup.js';
import { activityView } from '/js/views/activity.js';
import { settingsView } from '/js/views/settings.js';

const ROUTES = [
  { re: /^\/setup$/, nav: null, view: setupView, public: true },
  { re: /^\/login$/, nav: null, view: loginView, public: true },
  { re: /^\/store$/, nav: '/store', view: storeView },
  { re: /^\/store\/([^/]+)\/([^/]+)$/, nav: '/store', view: storePupView },
  { re: /^\/installed$/, nav: '/installed', view: installedView },
  { re: /^\/installed\/([^/]+)$/, nav: '/installed', view: pupView },
  { re: /^\/activity$/, nav: '/activity', view: activityView },
  { re: /^\/settings$/, nav: '/settings', view: settingsView },
];

const main = document.getElementById('main');
const topbar = document.getElementById('topbar');
let cleanups = [];
let flash = null;
let ending = false;
let firstRender = true;

export function setFlash(text, tone = 'info') { flash = { text, tone }; }
export function takeFlash() { const f = flash; flash = null; return f; }

export function navigate(path, { replace: rep = false } = {}) {
  if (rep) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function runCleanups() {
  for (const fn of cleanups.splice(0)) {
    try { fn(); } catch (e) { console.warn('cleanup failed', e); }
  }
}

function notFound(ctx) {
  document.title = 'Not found — Dogebox';
  ctx.main.append(h('div.narrow.card',
    h('h1', 'Page not found'),
    h('p', 'There is no page at ', h('code', location.pathname), '.'),
    h('p', h('a', { href: '/', 'data-nav': '' }, 'Go to the start page'))));
}

function render() {
  runCleanups();
  const path = location.pathname.replace(/\/+$/, '') || '/';
  if (path === '/') {
    const target = session.token ? (Object.keys(live.states).length ? '/installed' : '/store') : '/login';
    history.replaceState(null, '', target);
    return render();
  }
  let route = null;
  let params = [];
  for (const r of ROUTES) {
    const m = r.re.exec(path);
    if (m) {
      route = r;
      params = m.slice(1).map(decodeURIComponent);
      break;
    }
  }
  if (route && !route.public && !session.token) {
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    return undefined;
  }
  const signedIn = !!session.token && !(route && route.public);
  topbar.hidden = !signedIn;
  for (const a of topbar.querySelectorAll('.mainnav a')) {
    if (route && a.getAttribute('href') === route.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  replace(main);
  const ctx = {
    main,
    params,
    query: new URLSearchParams(location.search),
    onCleanup: (fn) => cleanups.push(fn),
    navigate,
  };
  // a message from the previous page (e.g. "X was purged"); login shows its own
  if (!route || route.view !== loginView) {
    const f = takeFlash();
    if (f) main.append(h('p.notice', { 'data-tone': f.tone, role: 'status' }, f.text));
  }
  try {
    (route ? route.view : notFound)(ctx);
  } catch (e) {
    console.error(e);
    main.append(h('p.notice', { 'data-tone': 'bad', role: 'alert' }, `This page failed to load: ${e.message}`));
  }
  if (!firstRender) {
    const h1 = main.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus({ preventScroll: false });
    } else {
      main.focus();
    }
  }
  firstRender = false;
  return undefined;
}

// A 401 from any call: the session is over (expired, revoked, signed out
// elsewhere). Back to login, then back to where the owner was.
function sessionEnded() {
  if (ending || !session.token) return;
  ending = true;
  live.stop();
  session.clear();
  setFlash('Your session has ended. Sign in again to continue.', 'warn');
  const here = location.pathname + location.search;
  const next = here.startsWith('/login') || here.startsWith('/setup') ? '' : `?next=${encodeURIComponent(here)}`;
  navigate(`/login${next}`, { replace: true });
  ending = false;
}

// Called by the login and setup views once a token is stored.
export async function signedIn(next) {
  let b = null;
  try {
    b = await live.refresh();
  } catch (e) {
    if (e.status === 401) return;
  }
  const facts = (b && b.setupFacts) || {};
  if (b && !facts.hasCompletedInitialConfiguration) {
    // Setup was interrupted after the key was made: finish it without
    // adding sources (the owner adds them in Settings).
    try { await post('/system/bootstrap', { sources: [] }); } catch { /* already finished */ }
  }
  live.start();
  navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
}

export async function signOut(message = 'You are signed out.') {
  try { await post('/logout', {}, { allow401: true }); } catch { /* the session may be gone already */ }
  live.stop();
  session.clear();
  setFlash(message, 'ok');
  navigate('/login', { replace: true });
}

export function sessionGone(message) {
  live.stop();
  session.clear();
  setFlash(message, 'ok');
  navigate('/login', { replace: true });
}

document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download') || a.getAttribute('href').startsWith('#')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || a.hasAttribute('data-external')) return;
  ev.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);

document.getElementById('signout').addEventListener('click', () => signOut());

const conn = document.getElementById('conn');
live.on('conn', (state) => {
  conn.dataset.state = state;
  conn.textContent = state === 'live' ? 'Live' : state === 'down' ? 'Reconnecting…' : 'Connecting…';
});

async function boot() {
  onUnauthorized(sessionEnded);
  let b = null;
  try {
    b = await get('/system/bootstrap', { allow401: true });
  } catch (e) {
    if (e.status !== 401) {
      replace(main, h('div.narrow.card', h('h1', 'Cannot reach the Dogebox'),
        h('p', { role: 'alert' }, e.message)));
      return;
    }
    session.clear();
  }
  const facts = (b && b.setupFacts) || {};
  const path = location.pathname;
  if (b && !facts.hasGeneratedKey) {
    session.clear();
    if (path !== '/setup') history.replaceState(null, '', '/setup');
  } else if (path === '/setup') {
    history.replaceState(null, '', session.token ? '/' : '/login');
  }
  if (b && session.token && facts.hasGeneratedKey) {
    live.setBootstrap(b);
    live.start();
  }
  render();
}

boot();
