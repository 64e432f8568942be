// The store catalog: GET /sources/store (upstream-api.md §4.8), cached
// briefly so that moving between store pages does not refetch it.

import { get } from '/js/api.js';
import { compareVersions } from '/js/dom.js';

const CATALOG_TTL_MS = 30000;
let cache = null;
let cacheAt = 0;
let inflight = null;

export async function loadCatalog({ refresh = false } = {}) {
  if (!refresh && cache && Date.now() - cacheAt < CATALOG_TTL_MS) return cache;
  if (inflight && !refresh) return inflight;
  inflight = get(`/sources/store${refresh ? '?refresh=true' : ''}`)
    .then((data) => {
      cache = data && typeof data === 'object' ? data : {};
      cacheAt = Date.now();
      return cache;
    })
    .finally(() => { inflight = null; });
  return inflight;
}

export function invalidateCatalog() { cache = null; }

// [{sourceId, source, name, entry, latest, manifest}] for every pup.
export function listPups(catalog) {
  const out = [];
  for (const [sourceId, src] of Object.entries(catalog || {})) {
    for (const [name, entry] of Object.entries((src && src.pups) || {})) {
      const versions = sortedVersions(entry);
      const latest = entry.latestVersion || versions[0];
      out.push({ sourceId, source: src, name, entry, latest, manifest: (entry.versions || {})[latest] || null });
    }
  }
  out.sort((a, b) => a.name.localeCompare(b.name));
  return out;
}

export function sortedVersions(entry) {
  return Object.keys((entry && entry.versions) || {}).sort((a, b) => compareVersions(b, a));
}

// Every manifest we know (all versions, all sources, installed pups), for
// looking up interfaces and permission groups.
export function allManifests(catalog, states) {
  const out = [];
  for (const src of Object.values(catalog || {})) {
    for (const entry of Object.values((src && src.pups) || {})) {
      for (const m of Object.values(entry.versions || {})) out.push(m);
    }
  }
  for (const s of Object.values(states || {})) if (s && s.manifest) out.push(s.manifest);
  return out;
}

// The dependency plan for installing manifest m: for each dependency, an
// installed provider to use, a pup from a source to install first, or
// nothing available.
export function dependencyPlan(m, sourceId, catalog, states) {
  const plan = [];
  for (const d of (m && m.dependencies) || []) {
    const installed = Object.values(states || {}).filter((s) => s && s.installation !== 'uninstalled' &&
      s.manifest && (s.manifest.interfaces || []).some((i) => i.name === d.interfaceName));
    if (installed.length) {
      plan.push({ dep: d, kind: 'installed', pup: installed[0] });
      continue;
    }
    const candidates = [];
    for (const p of listPups(catalog)) {
      for (const v of sortedVersions(p.entry)) {
        const vm = p.entry.versions[v];
        if ((vm.interfaces || []).some((i) => i.name === d.interfaceName)) {
          candidates.push({ sourceId: p.sourceId, source: p.source, name: p.name, version: v, manifest: vm });
          break;
        }
      }
    }
    const hint = d.source || {};
    candidates.sort((a, b) => {
      const sa = (a.name === hint.pupName ? 2 : 0) + (a.sourceId === sourceId ? 1 : 0);
      const sb = (b.name === hint.pupName ? 2 : 0) + (b.sourceId === sourceId ? 1 : 0);
      return sb - sa;
    });
    if (candidates.length) plan.push({ dep: d, kind: 'install', pup: candidates[0] });
    else plan.push({ dep: d, kind: 'missing' });
  }
  return plan;
}
