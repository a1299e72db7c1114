// The web console in a real browser (Debian's chromium through playwright-core), against a real
// Fulcrum and two real servers: log in; create a pool with two real servers and a virtual service
// from the generated forms; send traffic and see the charts move; stop a real server and see it
// turn red with its reason; drain the other and watch its requests in flight count down to 0;
// put an invalid regex in a rule and see the server's message next to the field; restore an
// earlier config version. Every page passes axe-core (no serious or critical violation), the
// browser console stays free of errors and warnings, and each page is saved as a screenshot in
// interop/artifacts/console/.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConsoleMessage, Page } from 'playwright-core';
import { ADMIN_PASSWORD, ADMIN_USER, startConsoleBench, type ConsoleBench } from './console-harness.ts';

// The browser's globals, as the callbacks below use them inside the page (the project compiles without the DOM library).
declare const document: { querySelector(selector: string): { textContent: string | null } | null; querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }> };
declare function getComputedStyle(element: unknown): { backgroundColor: string };

const ARTIFACTS = path.join(import.meta.dirname, 'artifacts', 'console');
const AXE = readFileSync(path.join(import.meta.dirname, '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const POOL = 'shop-pool';
const SERVICE = 'shop';

/**
 * Answers the test provokes on purpose, which Chromium reports as console errors: the session
 * probe before login (401) and the invalid rule (400). Anything else is a failure.
 */
function expected(message: ConsoleMessage): boolean {
  return /^Failed to load resource: the server responded with a status of (400|401) /.test(message.text()) && message.location().url.includes('/api/v1/');
}

describe('the web console in chromium', () => {
  let bench: ConsoleBench;
  let page: Page;
  const problems: string[] = [];
  const audited: string[] = [];

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    bench = await startConsoleBench();
    page = bench.browser.pages()[0] ?? (await bench.browser.newPage());
    page.setDefaultTimeout(15_000);
    page.on('console', (m) => {
      if ((m.type() === 'error' || m.type() === 'warning') && !expected(m)) problems.push(`${m.type()}: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  });

  after(async () => {
    await bench?.stop();
  });

  const go = async (hash: string): Promise<void> => {
    await page.goto(`${bench.adminUrl}/${hash}`);
    await page.locator('main h1').first().waitFor();
  };

  /** axe-core on the page as it is now (no serious or critical violation), and its screenshot. */
  const check = async (name: string): Promise<void> => {
    // Injected through the debugging protocol: the console's CSP (rightly) refuses inline scripts.
    await page.evaluate(AXE);
    const violations = await page.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: { run: (c: unknown, o: unknown) => Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
      const result = await axe.run(document, { resultTypes: ['violations'] });
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
    });
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(serious, [], `axe on ${name}: ${JSON.stringify(serious, null, 2)}`);
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
    audited.push(name);
  };

  const sendRequests = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const res = await fetch(`http://127.0.0.1:${bench.servicePort}/`);
      await res.text();
    }
  };

  it('logs in', async () => {
    await page.goto(`${bench.adminUrl}/`);
    await page.getByLabel('User').waitFor();
    await check('login');
    await page.getByLabel('User').fill(ADMIN_USER);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Wrong user name or password.').waitFor();
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByRole('link', { name: 'bootstrap' }).first().waitFor();
    await check('dashboard-before');
  });

  it('creates a pool with two real servers from the generated form', async () => {
    await page.getByRole('link', { name: 'New pool' }).click();
    await page.getByRole('heading', { name: 'New pool' }).waitFor();
    await page.locator('#f-name').fill(POOL);
    const add = page.getByRole('button', { name: 'Add realServer' });
    await add.click();
    await add.click();
    await page.locator('#f-realServers-0-address').fill(bench.servers[0]!.address);
    await page.locator('#f-realServers-1-address').fill(bench.servers[1]!.address);
    // A quick health check, so a stopped server turns red within a second or two.
    await page.locator('#f-healthCheck summary').click();
    await page.locator('#f-healthCheck-type').selectOption({ label: 'http' });
    await page.locator('#f-healthCheck-interval').fill('500ms');
    await page.locator('#f-healthCheck-fall').fill('1');
    await page.locator('#f-healthCheck-rise').fill('1');
    await check('pool-form');
    await page.getByRole('button', { name: 'Preview changes' }).click();
    const dialog = page.getByRole('dialog', { name: 'Review the change' });
    await dialog.waitFor();
    const diff = await dialog.locator('pre.diff').innerText();
    assert.match(diff, new RegExp(`\\+\\s*- name: ${POOL}|\\+.*name: ${POOL}`), diff);
    assert.ok(diff.includes(bench.servers[1]!.address), diff);
    await check('pool-diff');
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('heading', { name: `Pool ${POOL}` }).waitFor();
    for (const server of bench.servers) await page.locator(`tr[data-server="${server.address}"]`).waitFor();
  });

  it('creates a virtual service from the generated form', async () => {
    await go('#/new/virtual-services');
    assert.equal(await page.locator('#f-root-kind').inputValue(), '0', 'a new service starts as http');
    await page.locator('#f-name').fill(SERVICE);
    await page.locator('#f-listen').fill(`127.0.0.1:${bench.servicePort}`);
    await page.locator('#f-pool').fill(POOL);
    await check('virtual-service-form');
    await page.getByRole('button', { name: 'Preview changes' }).click();
    const dialog = page.getByRole('dialog', { name: 'Review the change' });
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('heading', { name: `Virtual service ${SERVICE}` }).waitFor();
    await sendRequests(1);
  });

  it('shows traffic in the charts', async () => {
    const caption = page.locator('figure.chart', { hasText: 'Requests per second' }).locator('.chart-key').first();
    await caption.waitFor();
    const deadline = Date.now() + 15_000;
    let text = '';
    while (Date.now() < deadline) {
      await sendRequests(40);
      text = await caption.innerText();
      const rate = Number(/requests\/s: ([\d.,]+)/.exec(text)?.[1]?.replace(/,/g, '') ?? 'NaN');
      if (rate > 0) break;
    }
    assert.match(text, /requests\/s: [1-9]|requests\/s: 0\.[1-9]/, `the requests/s chart moved: ${text}`);
    const lines = await page.locator('figure.chart canvas').count();
    assert.ok(lines >= 4, `four charts drawn (${lines} canvases)`);
    await check('virtual-service');
  });

  it('turns a stopped real server red, with its reason in words', async () => {
    const [stopped] = bench.servers;
    await go(`#/pools/${POOL}`);
    const row = page.locator(`tr[data-server="${stopped!.address}"]`);
    await row.and(page.locator('[data-state="up"]')).waitFor();
    await stopped!.stop();
    await row.and(page.locator('[data-state="down"]')).waitFor({ timeout: 10_000 });
    assert.equal(await row.locator('.rs-state').innerText(), 'down');
    const reason = await row.locator('td.reason').innerText();
    assert.match(reason, /refused|ECONNREFUSED|connect/i, `the reason says why: ${reason}`);
    const colour = await row.locator('.badge').evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(colour, 'rgb(253, 230, 229)', 'the badge is red');
    // The reason and the last check in words on hover (title) and on click (the detail row).
    assert.match((await row.locator('.badge').getAttribute('title')) ?? '', /^Down since .*Last check/);
    await row.getByRole('button', { name: stopped!.address }).click();
    const detail = page.locator('tr.detail .health-sentence');
    assert.match(await detail.innerText(), /^Down since .*(refused|connect).*Last check .* failed/is);
    await check('pool-down');
  });

  it('drains the other real server: its requests in flight count down to 0', async () => {
    const [, draining] = bench.servers;
    const row = page.locator(`tr[data-server="${draining!.address}"]`);
    const active = row.locator('td.rs-active');
    const slow = Array.from({ length: 3 }, () => fetch(`http://127.0.0.1:${bench.servicePort}/slow`).then((r) => r.text()));
    await page.waitForFunction((address) => document.querySelector(`tr[data-server="${address}"] td.rs-active`)?.textContent === '3', draining!.address, { timeout: 10_000 });
    await row.getByRole('button', { name: 'Drain' }).click();
    await row.and(page.locator('[data-state="draining"]')).waitFor();
    assert.equal(await active.innerText(), '3', 'the held requests finish on the drained server');
    assert.equal(await row.locator('.badge').evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(255, 241, 204)', 'the badge is amber');
    await check('pool-draining');
    draining!.release();
    await Promise.all(slow);
    await page.waitForFunction((address) => document.querySelector(`tr[data-server="${address}"] td.rs-active`)?.textContent === '0', draining!.address, { timeout: 10_000 });
    assert.equal(await row.getAttribute('data-state'), 'draining');
  });

  it('shows the server\'s message next to the field for an invalid regex in a rule', async () => {
    await go(`#/edit/virtual-services/${SERVICE}/rules`);
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.locator('#f-rules-0-name').fill('bad-regex');
    await page.locator('#f-rules-0-pool').fill(POOL);
    // match is optional, so its fieldset is folded until opened.
    await page.locator('#f-rules-0-match summary').click();
    const pathKind = page.locator('#f-rules-0-match-path-kind');
    await pathKind.selectOption({ label: 'settings' });
    await page.locator('#f-rules-0-match-path-regex').fill('^/api/[a-');
    await page.getByRole('button', { name: 'Preview changes' }).click();
    const message = page.locator('#f-rules-0-match-path-regex-err');
    await message.waitFor();
    assert.match(await message.innerText(), /regular expression|regex/i);
    assert.equal(await page.locator('#f-rules-0-match-path-regex').getAttribute('aria-invalid'), 'true');
    await page.locator('#f-rules-0-match-path-regex').evaluate((el) => el.scrollIntoView({ block: 'center' }));
    await check('rule-invalid-regex');
  });

  it('restores an earlier config version', async () => {
    await go('#/versions');
    const created = page.locator('tr[data-version]', { hasText: `virtual service ${SERVICE}` }).first();
    await created.waitFor();
    await check('versions');
    // The version just before the virtual service was created: restoring it removes the service.
    const rows = page.locator('tr[data-version]');
    const count = await rows.count();
    let index = -1;
    for (let i = 0; i < count; i++) if ((await rows.nth(i).innerText()).includes(`virtual service ${SERVICE}`)) index = i;
    assert.ok(index >= 0 && index + 1 < count, 'an older version exists');
    const older = rows.nth(index + 1);
    await older.getByRole('button', { name: /^Restore/ }).click();
    const dialog = page.getByRole('dialog', { name: /^Restore version/ });
    const diff = await dialog.locator('pre.diff').innerText();
    assert.match(diff, new RegExp(`name: ${SERVICE}`), diff);
    await check('version-restore');
    await dialog.getByRole('button', { name: 'Restore' }).click();
    await dialog.waitFor({ state: 'detached' });
    await go('#/');
    await page.getByRole('link', { name: 'bootstrap' }).first().waitFor();
    await page.waitForFunction((name) => !Array.from(document.querySelectorAll('main a')).some((a) => a.textContent === name), SERVICE);
  });

  it('every other page passes axe-core', async () => {
    for (const [name, hash] of [
      ['dashboard', '#/'],
      ['gslb', '#/gslb'],
      ['certificates', '#/certificates'],
      ['audit', '#/audit'],
      ['users', '#/users'],
      ['backup', '#/backup'],
      ['pool-edit', `#/edit/pools/${POOL}`],
      ['health-check-edit', `#/edit/pools/${POOL}/healthCheck`],
    ] as const) {
      await go(hash);
      await page.locator('[aria-busy="true"]').first().waitFor({ state: 'detached' });
      await check(name);
    }
  });

  it('creates an API token (shown once) and a viewer', async () => {
    await go('#/users');
    await page.getByLabel('What it is for').fill('deploy script');
    await page.getByRole('button', { name: 'Create token' }).click();
    const dialog = page.getByRole('dialog', { name: 'Token deploy script created' });
    const token = await dialog.getByLabel('Token').inputValue();
    assert.ok(token.length >= 20, `a token secret: ${token}`);
    const probe = await fetch(`${bench.adminUrl}/api/v1/status`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(probe.status, 200, 'the token works for scripts');
    await check('token-created');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('row', { name: /deploy script/ }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('watcher');
    await page.locator('#user-role').selectOption('viewer');
    await page.locator('#user-password').fill('watcher password');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('row', { name: /watcher/ }).waitFor();
  });

  it('a viewer sees the state buttons disabled, with the reason', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('User').fill('watcher');
    await page.getByLabel('Password').fill('watcher password');
    await page.getByLabel('Password').press('Enter');
    // Login keeps the page asked for (here the users page, where the admin logged out).
    await page.getByRole('heading', { name: 'Users and tokens' }).waitFor();
    await go('#/');
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByRole('link', { name: POOL }).first().waitFor();
    assert.equal(await page.getByRole('link', { name: 'New pool' }).count(), 0, 'no create links for a viewer');
    await go(`#/pools/${POOL}`);
    const drains = page.getByRole('button', { name: 'Drain' });
    assert.ok((await drains.count()) >= 1);
    for (const button of await drains.all()) assert.equal(await button.isDisabled(), true);
    assert.match(await page.locator('#operate-why').innerText(), /Your role is viewer; this needs operator/);
    await check('pool-viewer');
  });

  it('logs out', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('User').waitFor();
    await page.goto(`${bench.adminUrl}/#/pools/${POOL}`);
    await page.getByLabel('User').waitFor();
  });

  it('the browser console stayed clean', () => {
    assert.ok(audited.length >= 15, `pages checked: ${audited.join(', ')}`);
    assert.deepEqual(problems, []);
  });
});
