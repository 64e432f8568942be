// Tiny DOM helpers. Text from the API only ever goes through textContent
// (h() children and attributes), never innerHTML, so a pup manifest cannot
// inject markup into the panel.

const SVG_NS = 'http://www.w3.org/2000/svg';

// h('button.primary#save', {type: 'submit', onclick: fn}, 'Save')
export function h(tag, attrs, ...children) {
  const m = /^([a-z0-9-]+)((?:[.#][\w-]+)*)$/i.exec(tag);
  if (!m) throw new Error('bad tag ' + tag);
  const el = document.createElement(m[1]);
  for (const part of m[2].match(/[.#][\w-]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled' ||
             k === 'hidden' || k === 'indeterminate') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

// Redraw a live region without losing the keyboard focus: elements that
// carry data-key get the focus back after fn() rebuilt them.
export function keepFocus(container, fn) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.getAttribute('data-key') : null;
  fn();
  if (key) {
    const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again && again !== document.activeElement) again.focus();
  }
}

// A container is a labelled list only while it holds list items (an empty
// state message inside role=list, or a label without a role, is invalid ARIA).
export function listRole(el, on, label) {
  if (on) {
    el.setAttribute('role', 'list');
    el.setAttribute('aria-label', label);
  } else {
    el.removeAttribute('role');
    el.removeAttribute('aria-label');
  }
}

let idSeq = 0;
export function uid(prefix = 'id') {
  idSeq += 1;
  return `${prefix}-${idSeq}`;
}

// ---- formatting ----

export function timeAgo(value) {
  if (!value) return 'never';
  const t = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(t) || t <= 0) return 'never';
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(t).toLocaleString();
}

export function dateTime(value) {
  if (!value) return '';
  const t = Date.parse(value);
  return Number.isFinite(t) ? new Date(t).toLocaleString() : String(value);
}

export function duration(from, to) {
  const a = Date.parse(from);
  const b = to ? Date.parse(to) : Date.now();
  if (!Number.isFinite(a) || !Number.isFinite(b)) return '';
  const s = Math.max(0, Math.round((b - a) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function bytes(n) {
  if (!Number.isFinite(n)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

// Semver-ish descending sort for version strings ("1.10.0" > "1.9.2";
// a pre-release sorts before its release).
export function compareVersions(a, b) {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  for (let i = 0; i < 3; i++) if (pa.n[i] !== pb.n[i]) return pa.n[i] - pb.n[i];
  if (pa.pre === pb.pre) return 0;
  if (!pa.pre) return 1;
  if (!pb.pre) return -1;
  return pa.pre < pb.pre ? -1 : 1;
}

function parseVersion(v) {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([^+]*))?/.exec(String(v || ''));
  if (!m) return { n: [0, 0, 0], pre: String(v || '') };
  return { n: [+m[1], +(m[2] || 0), +(m[3] || 0)], pre: m[4] || '' };
}

// A logo is shown only from a base64 raster data URL (never an external URL).
export function safeLogo(src) {
  return typeof src === 'string' && /^data:image\/(png|jpeg|jpg|gif|webp);base64,[A-Za-z0-9+/=\s]+$/.test(src)
    ? src : '';
}

export function logoEl(src, name, big = false) {
  const url = safeLogo(src);
  if (url) return h(big ? 'img.logo.big' : 'img.logo', { src: url, alt: '' });
  const initial = (String(name || '?').trim()[0] || '?').toUpperCase();
  return h(big ? 'span.logo.big' : 'span.logo', { 'aria-hidden': 'true' }, initial);
}
