// Helpers for the panel's browser tests: launching Debian's chromium with
// playwright-core, screenshots, console-error tracking and axe-core scans.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const BASE = process.env.DBX_URL;
export const OUT = process.env.DBX_E2E_OUT || path.resolve('../out/e2e');
export const SOURCE_URL = process.env.DBX_SOURCE_URL;
export const SOURCE_ID = process.env.DBX_SOURCE_ID || 'e2e.local';
if (!BASE) throw new Error('DBX_URL is not set: run the tests through tests/e2e/run');

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

export async function launch() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbx-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: DESKTOP,
    baseURL: BASE,
    colorScheme: 'light',
    acceptDownloads: true,
    reducedMotion: 'reduce',
  });
  context.setDefaultTimeout(20000);
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

// Every console error and uncaught exception on every page of the context.
// A step may declare the errors it expects (a failed request it provokes on
// purpose); anything else fails the step.
export class ConsoleWatch {
  constructor(context) {
    this.errors = [];
    this.allowed = [];
    const attach = (page) => {
      page.on('console', (msg) => {
        if (msg.type() !== 'error') return;
        const loc = msg.location();
        this.errors.push({ page: page.url(), text: msg.text(), url: (loc && loc.url) || '' });
      });
      page.on('pageerror', (err) => this.errors.push({ page: page.url(), text: `uncaught: ${err.message}`, url: '' }));
    };
    for (const p of context.pages()) attach(p);
    context.on('page', attach);
  }

  // Expect failed-request errors for URLs matching re with one of statuses.
  allow(re, statuses) {
    this.allowed.push({ re, statuses });
  }

  // Returns the unexpected errors since the last check and resets.
  take() {
    const bad = this.errors.filter((e) => !this.allowed.some((a) => {
      if (!a.re.test(e.url) && !a.re.test(e.text)) return false;
      const m = /status of (\d+)/.exec(e.text);
      return !a.statuses || (m && a.statuses.includes(+m[1]));
    }));
    this.errors = [];
    this.allowed = [];
    return bad;
  }
}

let shotSeq = 0;
export async function screenshot(page, name) {
  shotSeq += 1;
  const file = path.join(OUT, `${String(shotSeq).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// axe-core over the page, WCAG 2.1 A/AA rules (labels, names, contrast,
// ARIA, landmarks...). Evaluated through the DevTools protocol, so the
// panel's Content-Security-Policy stays in force for everything else.
export async function axe(page) {
  const has = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!has) await page.evaluate(AXE_SOURCE);
  const res = await page.evaluate((tags) => window.axe.run(document, {
    runOnly: { type: 'tag', values: tags },
    resultTypes: ['violations'],
  }), AXE_TAGS);
  return res.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join(', ')}`);
}

// Check a screen: screenshot, axe in light and dark, console errors.
export async function checkScreen(page, watch, name, { dark = true } = {}) {
  await page.waitForLoadState('domcontentloaded');
  await screenshot(page, name);
  const problems = [];
  for (const v of await axe(page)) problems.push(`light: ${v}`);
  if (dark) {
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, `${name}-dark`);
    for (const v of await axe(page)) problems.push(`dark: ${v}`);
    await page.emulateMedia({ colorScheme: 'light' });
  }
  for (const e of watch.take()) problems.push(`console error on ${e.page}: ${e.text}${e.url ? ` (${e.url})` : ''}`);
  if (problems.length) throw new Error(`${name}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
}

// Poll until fn() is truthy (for things that arrive over WebSockets).
export async function until(fn, { timeout = 30000, interval = 250, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}
