// The owner's whole journey through the panel, in a real browser, against a
// real daemon (tests/e2e/run starts both): first-run setup, sign in/out,
// a wrong password, a 401, a local HTTP source, the store, installing the
// example web app after its dependency plan, configuration with an API
// field error, its web page, live logs, stop, uninstall, purge, activity,
// settings, the phone layout and the keyboard. Every screen gets a
// screenshot, an axe-core scan (light and dark) and a console-error check.
//

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  SOURCE_URL, SOURCE_ID, PHONE, DESKTOP, launch, ConsoleWatch, checkScreen, screenshot, until,
} from './lib.mjs';

const PASSWORD = 'correct horse battery staple 42';
const NEW_PASSWORD = 'an even better passphrase 43';
const PUP = 'Hello Web';
const GREETING = 'Hello from the panel test';
const INSTALL_TIMEOUT = 180000; // ASan daemon, sandbox start: generous, not a speed check

let browser;
let page;
let watch;
let pupId = null;

before(async () => {
  browser = await launch();
  page = browser.context.pages()[0] || await browser.context.newPage();
  watch = new ConsoleWatch(browser.context);
});

after(async () => {
  if (browser) await browser.close();
});

// A step runs only when the steps it needs passed; otherwise it fails at
// once naming them (it is not skipped), so the report says precisely which
// parts of the flow work.
const passed = new Set();
function step(id, name, needs, fn) {
  test(`${id}: ${name}`, async () => {
    const missing = needs.filter((n) => !passed.has(n));
    if (missing.length) assert.fail(`not run: it needs step(s) ${missing.join(', ')}, which did not pass`);
    try {
      await fn();
      passed.add(id);
    } catch (e) {
      try { await screenshot(page, `FAILED-${id}`); } catch { /* page gone */ }
      watch.take(); // what went wrong here is this step's report, not the next one's
      throw e;
    }
  });
}

async function statusOf() {
  return page.locator('main h1 ~ .row [data-status], main .page-head [data-status]').first().getAttribute('data-status');
}

async function waitStatus(wanted, timeout = 60000) {
  await until(async () => wanted.includes(await statusOf()), { timeout, what: `status ${wanted.join(' or ')}` });
}

function nav(name) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

// Steps that do not follow the one before start signed in on a known page.
let password = PASSWORD;
async function freshStart(path) {
  await page.goto(path);
  await page.locator('main h1').first().waitFor();
  if (new URL(page.url()).pathname === '/login') {
    // the stored session had ended: the panel's first call got a 401
    watch.allow(/\/system\/bootstrap/, [401]);
    await signIn(password);
    await page.waitForURL((u) => u.pathname === path);
    await page.locator('main h1').first().waitFor();
    for (const e of watch.take()) assert.fail(`console error while signing in again: ${e.text}`);
  }
}

async function signIn(password) {
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

step('setup', 'first-run setup: password, 24-word phrase shown once, confirm words', [], async () => {
  await page.goto('/');
  await page.waitForURL('**/setup');
  await checkScreen(page, watch, 'setup-password');
  await page.getByLabel('New password').fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill('something else');
  await page.getByRole('button', { name: 'Create password and keys' }).click();
  await page.getByText('The two passwords are different').waitFor();
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create password and keys' }).click();
  const words = page.locator('ol.words li');
  await words.first().waitFor({ timeout: 60000 });
  assert.equal(await words.count(), 24, '24 recovery words');
  const phrase = await words.allTextContents();
  await checkScreen(page, watch, 'setup-phrase');
  const cont = page.getByRole('button', { name: 'Continue' });
  assert.equal(await cont.isDisabled(), true, 'Continue waits for the checkbox');
  await page.getByLabel('I have written down all 24 words in order').check();
  await cont.click();
  const inputs = page.locator('input[data-position]');
  await inputs.first().waitFor();
  const n = await inputs.count();
  assert.ok(n >= 3, 'at least three words to confirm');
  // a wrong word is refused
  await inputs.nth(0).fill('notaword');
  await page.getByRole('button', { name: 'Confirm and finish' }).click();
  await page.getByText('does not match your recovery phrase').waitFor();
  for (let i = 0; i < n; i++) {
    const pos = Number(await inputs.nth(i).getAttribute('data-position'));
    await inputs.nth(i).fill(phrase[pos - 1]);
  }
  // no outside source in tests: the box has no internet
  await page.getByLabel('Add the Dogebox community pup source').uncheck();
  await checkScreen(page, watch, 'setup-confirm');
  await page.getByRole('button', { name: 'Confirm and finish' }).click();
  await page.waitForURL('**/store');
  await page.getByRole('heading', { name: 'Pup store' }).waitFor();
  await checkScreen(page, watch, 'store-empty');
  // the phrase is never shown again
  await page.goto('/setup');
  await page.waitForURL((u) => !u.pathname.startsWith('/setup'));
});

step('login', 'sign out; a wrong password shows the error; sign in', ['setup'], async () => {
  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await page.waitForURL('**/login');
  await page.getByText('You are signed out.').waitFor();
  await checkScreen(page, watch, 'login');
  watch.allow(/\/authenticate/, [401, 403]);
  await signIn('not the password');
  const err = page.locator('#login-error');
  await until(async () => /Incorrect password/.test(await err.textContent()), { what: 'the wrong-password message' });
  await checkScreen(page, watch, 'login-wrong-password');
  await signIn(PASSWORD);
  await page.waitForURL((u) => ['/store', '/installed'].includes(u.pathname));
  await checkScreen(page, watch, 'after-login', { dark: false });
});

step('401', 'a 401 returns to login, and back to the page after signing in', ['login'], async () => {
  await freshStart('/store');
  // the session dies behind the panel's back (expired, revoked elsewhere)
  await page.evaluate(() => localStorage.setItem('dbx.token', 'f'.repeat(64)));
  watch.allow(/./, [401]);
  watch.allow(/WebSocket connection/, null);
  await nav('Settings').click();
  await page.waitForURL('**/login?next=*');
  await page.getByText('Your session has ended').waitFor();
  await checkScreen(page, watch, 'login-after-401');
  await signIn(PASSWORD);
  await page.waitForURL('**/settings');
  await page.getByRole('heading', { name: 'Pup sources' }).waitFor();
});

step('source', 'settings: add a local http source', ['login'], async () => {
  assert.ok(SOURCE_URL, 'DBX_SOURCE_URL');
  await freshStart('/settings');
  await page.getByRole('heading', { name: 'Pup sources' }).waitFor();
  watch.allow(/\/source/, [400, 409, 422, 500, 502]);
  await page.getByLabel('Location of a new source').fill('not a source');
  await page.getByRole('button', { name: 'Add source' }).click();
  await until(async () => (await page.locator('#add-source .error').textContent()).length > 0, { what: 'an error for a bad location' });
  watch.take();
  await page.getByLabel('Location of a new source').fill(SOURCE_URL);
  await page.getByRole('button', { name: 'Add source' }).click();
  const row = page.locator(`#sources li[data-source="${SOURCE_ID}"]`);
  await row.waitFor({ timeout: 60000 });
  await until(async () => !(await row.textContent()).includes('Error'), { timeout: 60000, what: 'the source to load without error' });
  await checkScreen(page, watch, 'settings-source-added');
});

step('store', 'store: source status, search, pup cards with logo', ['source'], async () => {
  await nav('Store').click();
  await page.getByRole('heading', { name: 'Pup store' }).waitFor();
  const card = page.locator(`article[data-pup="${PUP}"]`);
  await card.waitFor({ timeout: 30000 });
  assert.ok(await card.locator('img.logo').count() === 1, 'the card shows the pup logo');
  const src = page.locator(`[data-source="${SOURCE_ID}"]`);
  assert.match(await src.textContent(), /Last refreshed/);
  await checkScreen(page, watch, 'store');
  await page.getByLabel('Search pups').fill('ping');
  await until(async () => (await page.locator('article.pupcard').count()) === 2, { what: 'two ping pups' });
  assert.equal(await card.count(), 0, 'Hello Web is filtered out');
  await checkScreen(page, watch, 'store-search', { dark: false });
  await page.getByLabel('Search pups').fill('');
});

step('pup-page', 'pup page: versions, interfaces, dependencies, permissions, dependency plan', ['store'], async () => {
  // a pup with a dependency: the plan installs its provider first
  await page.locator('article[data-pup="Ping Consumer"] h2 a').click();
  await page.getByRole('heading', { name: 'Ping Consumer', level: 1 }).waitFor();
  await page.getByRole('heading', { name: 'Permissions it will be granted' }).waitFor();
  assert.match(await page.locator('main').textContent(), /dbx-example-ping/);
  await page.getByRole('button', { name: 'Install' }).click();
  const plan = page.locator('#install-plan');
  await plan.waitFor();
  assert.match(await plan.textContent(), /install Ping Provider 1\.0\.0/);
  await checkScreen(page, watch, 'store-plan-with-dependency');
  await plan.getByRole('button', { name: 'Cancel' }).click();
  // the example web app
  await page.getByRole('link', { name: '← Store' }).click();
  await page.locator(`article[data-pup="${PUP}"] h2 a`).click();
  await page.getByRole('heading', { name: PUP, level: 1 }).waitFor();
  assert.ok(await page.getByLabel('Version').count() === 1, 'a version picker');
  assert.match(await page.locator('main').textContent(), /Serve a web page you can open/);
  await checkScreen(page, watch, 'store-pup-page');
});

step('install', 'install: dependency plan first, then live progress until running', ['pup-page'], async () => {
  await page.getByRole('button', { name: 'Install' }).click();
  const plan = page.locator('#install-plan');
  await plan.waitFor();
  assert.match(await plan.textContent(), /needs no other pups/);
  await checkScreen(page, watch, 'install-plan');
  await plan.getByRole('button', { name: `Install ${PUP}` }).click();
  const progress = page.locator('#install-progress');
  await progress.waitFor();
  await screenshot(page, 'install-progress');
  const done = page.locator('#install-done, #install-error');
  await done.first().waitFor({ timeout: INSTALL_TIMEOUT });
  if (await page.locator('#install-error').count()) {
    assert.fail(`the install failed: ${await page.locator('#install-error').textContent()}`);
  }
  assert.equal(await page.locator('#install-done').getAttribute('data-status'), 'running');
  await checkScreen(page, watch, 'install-running');
  await page.getByRole('link', { name: `Open ${PUP}` }).first().click();
  await page.waitForURL('**/installed/*');
  pupId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  await page.getByRole('heading', { name: PUP, level: 1 }).waitFor();
  await waitStatus(['running']);
});

step('config', 'configuration: an invalid value shows the API field error; a valid one saves', ['install'], async () => {
  const field = page.locator('[data-field="GREETING"]');
  await field.waitFor();
  watch.allow(/\/config\//, [400, 422]);
  await field.fill('x'.repeat(5000));
  await page.getByRole('button', { name: 'Save configuration' }).click();
  const err = page.locator('[data-error-for="GREETING"]');
  await until(async () => (await err.textContent()).trim().length > 0, { what: 'the field error' });
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  await checkScreen(page, watch, 'config-field-error');
  await field.fill(GREETING);
  await page.getByRole('button', { name: 'Save configuration' }).click();
  await until(async () => (await page.locator('#config-status').textContent()).includes('Saved'), { what: 'Saved.' });
  assert.equal((await err.textContent()).trim(), '', 'the error is gone');
});

step('logs', 'logs appear live (a restart is logged while the page is open); download', ['install'], async () => {
  const log = page.locator(`[role="log"][aria-label="${PUP} log"]`);
  const starts = async () => ((await log.textContent()).match(/sandbox ready/g) || []).length;
  await until(async () => (await starts()) >= 1, { what: 'the first start in the log' });
  const before = await starts();
  // restarting also applies the saved configuration
  await page.getByRole('button', { name: 'Restart' }).click();
  await until(async () => (await starts()) > before, { timeout: 90000, what: 'the restart to appear in the live log' });
  await waitStatus(['running'], 90000);
  await checkScreen(page, watch, 'pup-page-running');
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#logs').getByRole('button', { name: 'Download' }).click()]);
  assert.match(download.suggestedFilename(), /\.log$/);
});

step('web-ui', 'open its web UI: the page shows the new greeting; the visit shows in the live log', ['config', 'logs'], async () => {
  const link = page.getByRole('link', { name: /Open web page/ });
  await link.waitFor();
  const [tab] = await Promise.all([browser.context.waitForEvent('page'), link.click()]);
  await until(async () => {
    await tab.reload({ waitUntil: 'domcontentloaded' }).catch(() => {});
    return (await tab.textContent('body').catch(() => '')).includes(GREETING);
  }, { timeout: 60000, interval: 1000, what: 'the web UI to show the greeting' });
  await screenshot(tab, 'pup-web-ui');
  await tab.close();
  watch.take(); // the pup's own page is not the panel
  const log = page.locator(`[role="log"][aria-label="${PUP} log"]`);
  await until(async () => /GET \/ /.test(await log.textContent()), { timeout: 30000, what: 'the request in the live log' });
});

step('stop', 'stop', ['install'], async () => {
  await page.getByRole('button', { name: 'Stop' }).click();
  await waitStatus(['stopped'], 60000);
  await checkScreen(page, watch, 'pup-stopped', { dark: false });
  await nav('Installed').click();
  await page.locator(`[data-pup-id="${pupId}"]`).waitFor();
  assert.match(await page.locator(`[data-pup-id="${pupId}"]`).textContent(), /Stopped/);
  await checkScreen(page, watch, 'installed-list');
  await page.locator(`[data-pup-id="${pupId}"] h2 a`).click();
  await page.getByRole('heading', { name: PUP, level: 1 }).waitFor();
});

step('uninstall', 'uninstall', ['stop'], async () => {
  await page.getByRole('button', { name: 'Uninstall' }).click();
  const dlg = page.getByRole('dialog');
  await dlg.waitFor();
  assert.match(await dlg.textContent(), /data .* is kept/);
  await checkScreen(page, watch, 'uninstall-dialog', { dark: false });
  await dlg.getByRole('button', { name: 'Uninstall' }).click();
  await waitStatus(['uninstalled'], 60000);
});

step('purge', 'purge: explains that data is deleted and asks to type the pup name', ['uninstall'], async () => {
  await page.getByRole('button', { name: 'Purge' }).click();
  const dlg = page.getByRole('dialog');
  await dlg.waitFor();
  assert.match(await dlg.textContent(), /deletes all of .*data/);
  const confirm = dlg.getByRole('button', { name: /Delete .* data/ });
  assert.equal(await confirm.isDisabled(), true, 'disabled until the name is typed');
  await dlg.getByLabel(`Type ${PUP} to confirm`).fill('Hello');
  assert.equal(await confirm.isDisabled(), true);
  await dlg.getByLabel(`Type ${PUP} to confirm`).fill(PUP);
  await checkScreen(page, watch, 'purge-dialog');
  await confirm.click();
  await page.waitForURL('**/installed', { timeout: 60000 });
  await page.getByText(`${PUP} was purged.`).waitFor();
  assert.equal(await page.locator(`[data-pup-id="${pupId}"]`).count(), 0);
  await checkScreen(page, watch, 'installed-after-purge', { dark: false });
});

step('deps', 'a pup with a dependency: the plan installs its provider first; provider choice per dependency', ['pup-page'], async () => {
  const CONSUMER = 'Ping Consumer';
  await freshStart(`/store/${SOURCE_ID}/${encodeURIComponent(CONSUMER)}`);
  await page.getByRole('button', { name: 'Install' }).click();
  const plan = page.locator('#install-plan');
  await plan.waitFor();
  assert.match(await plan.textContent(), /install Ping Provider 1\.0\.0 .* first/);
  await plan.getByRole('button', { name: `Install ${CONSUMER}` }).click();
  const done = page.locator('#install-done, #install-error');
  await done.first().waitFor({ timeout: INSTALL_TIMEOUT });
  if (await page.locator('#install-error').count()) {
    assert.fail(`the install failed: ${await page.locator('#install-error').textContent()}`);
  }
  await page.getByRole('link', { name: `Open ${CONSUMER}` }).first().click();
  await page.getByRole('heading', { name: CONSUMER, level: 1 }).waitFor();
  const select = page.locator('#providers select[data-iface="dbx-example-ping"]');
  await select.waitFor();
  if (await statusOf() === 'needs-deps') {
    // the API installed the provider but left the choice to the owner
    await select.selectOption({ label: 'Ping Provider' });
    await page.getByRole('button', { name: 'Save providers' }).click();
    await page.getByText('Providers saved.').waitFor();
  }
  await waitStatus(['running'], 90000);
  assert.equal(await select.locator('option:checked').textContent(), 'Ping Provider');
  await checkScreen(page, watch, 'pup-with-dependency');
  await nav('Installed').click();
  assert.equal(await page.locator('article.pupcard').count(), 2, 'the consumer and its provider are installed');
  await checkScreen(page, watch, 'installed-two-pups', { dark: false });
});

step('activity', 'activity: jobs with their status and log', ['install'], async () => {
  await page.goto('/activity');
  const jobs = page.locator('#jobs li[data-job]');
  await jobs.first().waitFor();
  assert.ok(await jobs.count() >= 3, 'install, stop, uninstall, purge jobs are listed');
  await jobs.first().getByRole('button', { name: 'Show log' }).click();
  await jobs.first().locator('[role="log"]').waitFor();
  await checkScreen(page, watch, 'activity');
});

step('settings', 'settings: change the password, sign out of all sessions', ['login'], async () => {
  await freshStart('/settings');
  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('Password changed').first().waitFor({ timeout: 60000 });
  password = NEW_PASSWORD;
  await checkScreen(page, watch, 'settings');
  // another client's session, to see it end too
  const other = await page.evaluate(async (pw) => {
    const r = await fetch('/authenticate', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: pw }) });
    return (await r.json()).token;
  }, NEW_PASSWORD);
  assert.ok(other, 'a second session');
  await page.getByRole('button', { name: 'Sign out of all sessions' }).click();
  const dlg = page.getByRole('dialog');
  await dlg.getByRole('button', { name: 'Sign out everywhere' }).click();
  await page.waitForURL('**/login');
  await page.getByText('signed out of every session').waitFor();
  // the other session is over too: the API says 401
  const status = await page.evaluate(async (t) => (await fetch('/system/status', { headers: { Authorization: `Bearer ${t}` } })).status, other);
  assert.equal(status, 401, 'the other session was signed out');
  watch.allow(/\/system\/status/, [401]);
  await signIn(NEW_PASSWORD);
  await page.waitForURL((u) => ['/store', '/installed'].includes(u.pathname));
});

step('phone', 'phone layout: no sideways scrolling, navigation reachable', ['login'], async () => {
  await freshStart('/store');
  await page.setViewportSize(PHONE);
  for (const [path, name] of [['/store', 'phone-store'], ['/installed', 'phone-installed'], ['/activity', 'phone-activity'], ['/settings', 'phone-settings']]) {
    await page.goto(path);
    await page.locator('main h1').first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow}px on a phone`);
    await checkScreen(page, watch, name, { dark: name === 'phone-store' });
  }
  await page.setViewportSize(DESKTOP);
});

step('keyboard', 'keyboard: skip link first, then the navigation, focus follows the page', ['login'], async () => {
  await freshStart('/store');
  await page.goto('/store');
  await page.locator('main h1').waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  await page.goto('/store');
  await page.locator('main h1').waitFor();
  // Tab through the header to the Settings link and follow it
  let found = false;
  for (let i = 0; i < 12 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => document.activeElement.textContent.trim() === 'Settings');
  }
  assert.ok(found, 'the Settings link is reachable with Tab');
  await page.keyboard.press('Enter');
  await page.waitForURL('**/settings');
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'H1', 'focus moves to the new page heading');
  for (const e of watch.take()) assert.fail(`console error: ${e.text}`);
});

step('ratelimit', 'too many wrong passwords: the 429 message with the wait from Retry-After', ['login'], async () => {
  await freshStart('/store');
  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await page.waitForURL('**/login');
  watch.allow(/\/authenticate/, [401, 403, 429]);
  const err = page.locator('#login-error');
  const button = page.getByRole('button', { name: 'Sign in' });
  let limited = false;
  for (let i = 0; i < 10 && !limited; i++) {
    await err.evaluate((el) => { el.textContent = ''; });
    await signIn(`wrong password ${i}`);
    await until(async () => /Incorrect password|Too many sign-in attempts/.test(await err.textContent()), { what: 'an answer to the sign-in' });
    limited = /Too many sign-in attempts/.test(await err.textContent());
  }
  assert.ok(limited, 'the panel says to wait after repeated failures');
  assert.match(await err.textContent(), /Wait \d+ seconds? and try again/);
  assert.equal(await button.isDisabled(), true, 'the button waits too');
  await checkScreen(page, watch, 'login-rate-limited');
  await until(async () => /You can try again now/.test(await err.textContent()), { timeout: 120000, what: 'the wait to end' });
  await signIn(password);
  await page.waitForURL((u) => ['/store', '/installed'].includes(u.pathname));
});
