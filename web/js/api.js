// The API client: same origin, bearer token, JSON in and out, one error type.
// A 401 from any call (except the login itself) ends the session and sends
// the owner back to the login screen (app.js installs that handler).

const TOKEN_KEY = 'dbx.token';

export const session = {
  get token() {
    try { return localStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
  },
  set(token) {
    try { localStorage.setItem(TOKEN_KEY, token); } catch { /* private mode: memory only */ }
  },
  clear() {
    try { localStorage.removeItem(TOKEN_KEY); } catch { /* nothing stored */ }
  },
};

export class ApiError extends Error {
  constructor(status, message, data, headers) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.data = data;
    this.fields = fieldErrors(data);
    const ra = headers ? headers.get('Retry-After') : null;
    this.retryAfter = ra && /^\d+$/.test(ra.trim()) ? parseInt(ra, 10) : null;
  }
}

let unauthorizedHandler = null;
export function onUnauthorized(fn) { unauthorizedHandler = fn; }

// Our error shape is {"error":{"code":N,"message":"..."}}; upstream also
// sends plain text and Connect's {"code","message"}. Be liberal.
function messageOf(status, data, text) {
  if (data && typeof data === 'object') {
    if (data.error && typeof data.error === 'object' && data.error.message) return data.error.message;
    if (typeof data.error === 'string' && data.error) return data.error;
    if (typeof data.message === 'string' && data.message) return data.message;
  }
  if (text && text.length < 500 && !/^\s*</.test(text)) return text.trim();
  return `The request failed (HTTP ${status}).`;
}

// Per-field errors, whichever way the API lists them:
//   error.fields: {NAME: "message"} or [{field|name|path, message}]
//   error.errors / error.details: [{field|name|path, message}]
// Returns {NAME: "message"}.
export function fieldErrors(data) {
  const out = {};
  const e = data && typeof data === 'object' ? (data.error && typeof data.error === 'object' ? data.error : data) : null;
  if (!e) return out;
  for (const key of ['fields', 'errors', 'details']) {
    const v = e[key];
    if (Array.isArray(v)) {
      for (const item of v) {
        if (!item || typeof item !== 'object') continue;
        const name = item.field || item.name || item.path;
        const msg = item.message || item.error || '';
        if (name) out[name] = out[name] ? `${out[name]} ${msg}` : msg;
      }
    } else if (v && typeof v === 'object') {
      for (const [name, msg] of Object.entries(v)) out[name] = String(msg);
    }
  }
  return out;
}

export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  const token = session.token;
  if (token && !opts.noToken) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'Cannot reach the Dogebox. Check that it is running and try again.', null, null);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (res.ok) return data;
  const err = new ApiError(res.status, messageOf(res.status, data, text), data, res.headers);
  if (res.status === 401 && !opts.allow401 && unauthorizedHandler) unauthorizedHandler(err);
  throw err;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body === undefined ? {} : body, opts);
export const put = (path, body, opts) => api('PUT', path, body, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);

export function enc(s) { return encodeURIComponent(String(s)); }

// WebSockets cannot send headers: the token travels as ?token= (as upstream).
export function wsUrl(path, params = {}) {
  const q = new URLSearchParams();
  if (session.token) q.set('token', session.token);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const qs = q.toString();
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}${qs ? `?${qs}` : ''}`;
}

// Downloads need the Authorization header too, so fetch the file and hand
// the browser a blob URL.
export async function download(path, filename) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${session.token}` }, cache: 'no-store' });
  if (!res.ok) {
    const text = await res.text();
    let data = null;
    try { data = JSON.parse(text); } catch { data = null; }
    const err = new ApiError(res.status, messageOf(res.status, data, text), data, res.headers);
    if (res.status === 401 && unauthorizedHandler) unauthorizedHandler(err);
    throw err;
  }
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return blob.size;
}
