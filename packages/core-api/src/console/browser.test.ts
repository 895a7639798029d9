import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519KeyPair, signPackage } from '../test-app.js';
import { findChromium, launchChromium, screenshots, SCREENSHOT_DIR, startServices, type Services } from './browser-testing.js';

// The callbacks given to page.evaluate run in the browser: this Node project has no DOM types, so the page's
// globals are declared loosely here.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const sessionStorage: any;
declare const MutationObserver: any;
declare const getComputedStyle: any;
declare const requestAnimationFrame: any;

/**
 * The console in a real browser (Chromium through playwright-core) against the built services, each its own
 * process on one DATA_DIR: a developer signs up, creates an app, telemetry arrives through ingest, the
 * overview's charts equal the API's numbers, a signed package is uploaded and submitted, an operator approves
 * and publishes it, and it is in the catalog. A cross-site form post is refused. Every page is screenshotted
 * at desktop and phone width into .console-screenshots/. Without Chromium these tests are skipped with a
 * message, unless MOSIS_REQUIRE_BROWSER=1 (CI), where that is a failure.
 */

const CHROMIUM = findChromium();
const REQUIRED = process.env.MOSIS_REQUIRE_BROWSER === '1';
const ADMIN_TOKEN = 'browser-test-admin-token-0123456789';
const PASSWORD = 'correct horse battery staple';
const SCENARIO_TIMEOUT_MS = 120_000;
/** The live view must show a new event this soon after ingest's 202. */
const LIVE_WITHIN_MS = 2_000;

if (!CHROMIUM) {
  const message = 'console browser tests: skipped, no Chromium found (set CHROMIUM_PATH, or apt-get install chromium)';
  if (REQUIRED) {
    describe('console in a browser', () => {
      it('finds Chromium (MOSIS_REQUIRE_BROWSER=1)', () => {
        throw new Error(`${message}; MOSIS_REQUIRE_BROWSER=1 makes that a failure`);
      });
    });
  } else {
    console.warn(message);
  }
}

describe.skipIf(!CHROMIUM)('console in a browser', () => {
  let services: Services;
  let browser: Browser;
  let dev: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  const email = `browser-${Date.now()}@example.com`;
  const packageId = `com.browser.camera${Date.now()}`;
  let appId = '';
  let token = '';

  const watch = (p: Page) => {
    p.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
      else if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) problems.push(`console error: ${m.text()}`);
    });
    p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    return p;
  };

  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${services.core}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const hasRoute = async (path: string) => path in ((await (await fetch(`${services.core}/openapi.json`)).json()) as { paths: Record<string, unknown> }).paths;
  const ingest = async (kind: 'events' | 'crashes', items: unknown[]) => {
    const res = await fetch(`${services.ingest}/v1/${kind}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ [kind]: items }) });
    const body = (await res.json()) as { accepted: number; rejected: unknown[] };
    expect(res.status, JSON.stringify(body)).toBe(202);
    expect(body.rejected).toEqual([]);
    return body;
  };
  /** Polls `check` until true: waits for the services to reach a state, never for a fixed time. */
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const shoot = async (p: Page, name: string) => {
    const { overflowPx } = await screenshots(p, name);
    expect(overflowPx, `${name} is wider than a 375 px phone`).toBeLessThanOrEqual(0);
  };

  beforeAll(async () => {
    services = await startServices(ADMIN_TOKEN);
    browser = await launchChromium(CHROMIUM!);
    dev = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = watch(await dev.newPage());
    console.log(`console screenshots: ${SCREENSHOT_DIR}`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await services?.stop();
  });

  it('sign up, create an app, sign out and back in with the keyboard only', async () => {
    await page.goto(`${services.core}/`);
    await expect.poll(() => page.url()).toContain('/console/sign-in');
    await shoot(page, 'sign-in');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Name').fill('Browser Tester');
    await page.getByLabel('Password').fill(PASSWORD);
    await shoot(page, 'sign-up');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/console\/apps/);
    token = (await dev.cookies()).find((c) => c.name === 'mosis_session')!.value;
    const cookie = (await dev.cookies()).find((c) => c.name === 'mosis_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    expect(await page.evaluate(() => document.cookie)).toBe('');

    await page.getByLabel('Package id').fill(packageId);
    await page.getByLabel('Name', { exact: true }).fill('Camera');
    await page.getByLabel('Category').selectOption('photography');
    await page.getByRole('button', { name: 'Create app' }).click();
    await page.waitForURL(/\/console\/apps\/[^/?]+\?notice=app_created/);
    appId = /\/console\/apps\/([^/?]+)/.exec(page.url())![1]!;
    await page.goto(`${services.core}/console/apps`);
    await expect.poll(() => page.getByRole('link', { name: 'Camera' }).count()).toBe(1);
    await shoot(page, 'apps');
    await page.goto(`${services.core}/console/apps/${appId}/edit`);
    await page.getByLabel('Description').fill('Photos with one tap.');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/notice=app_saved/);
    await page.goto(`${services.core}/console/apps/${appId}/edit`);
    expect(await page.getByLabel('Description').inputValue()).toBe('Photos with one tap.');
    await shoot(page, 'app-settings');

    // Keyboard only: Tab moves through the page in order, the focus is visible, Enter submits.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/sign-in\?notice=signed_out/);
    await page.locator('body').click({ position: { x: 5, y: 400 } });
    const order: string[] = [];
    for (let i = 0; i < 6 && !order.includes('email'); i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement.name || document.activeElement.textContent.trim()));
    }
    expect(order.at(-1)).toBe('email');
    expect(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle)).not.toBe('none');
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/apps$/);
    token = (await dev.cookies()).find((c) => c.name === 'mosis_session')!.value;
  }, SCENARIO_TIMEOUT_MS);

  it('events and crashes sent through ingest: the overview charts equal the API, measured', async () => {
    const now = Date.now();
    const at = (msAgo: number) => new Date(now - msAgo).toISOString();
    const day = 86_400_000;
    const event = (type: string, device: string, msAgo: number) => ({ event_id: randomUUID(), app: packageId, device_id: device, event_type: type, timestamp: at(msAgo), mosis_version: '1.4.2', app_version: '1.0.0', data: { screen: 'home' } });
    await until('ingest to know the new app', async () => {
      const res = await fetch(`${services.ingest}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [event('app_open', 'device-1', 60_000)] }) });
      return ((await res.json()) as { accepted: number }).accepted === 1;
    });
    await ingest('events', [
      event('app_open', 'device-2', 120_000),
      event('app_open', 'device-3', 180_000),
      event('screen_view', 'device-1', 60_000),
      event('screen_view', 'device-2', 60_000),
      event('screen_view', 'device-2', 90_000),
      event('app_open', 'device-1', day + 60_000),
      event('app_open', 'device-4', day + 60_000),
      event('purchase', 'device-4', day + 120_000),
    ]);
    const stack = 'java.lang.NullPointerException: camera is null\n\tat com.browser.Camera.open(Camera.java:42)\n\tat com.browser.Main.onCreate(Main.java:10)';
    const crash = (device: string) => ({ crash_id: randomUUID(), app: packageId, app_version: '1.0.0', device_id: device, crash_type: 'managed_exception', message: 'camera is null', stack_trace: stack, context: { memory_mb: 512 }, mosis_version: '1.4.2', timestamp: at(30_000) });
    await ingest('crashes', [crash('device-1'), crash('device-2')]);

    const to = new Date(now).toISOString().slice(0, 10);
    const from = new Date(now - 29 * day).toISOString().slice(0, 10);
    const total = (items: { count: number }[]) => items.reduce((s, i) => s + i.count, 0);
    let daily: { date: string; event_type: string; count: number }[] = [];
    await until('the rollup to count all 9 events', async () => {
      daily = (await api(`/v1/apps/${appId}/analytics/daily?from=${from}&to=${to}`)).body.items;
      return total(daily) === 9;
    });
    await until('the crash group', async () => (await api(`/v1/apps/${appId}/crash-groups?from=${from}&to=${to}`)).body.items.length === 1);

    // Cold: a fresh context (nothing cached) with the session, to measure what the overview costs.
    const cold = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await cold.addCookies(await dev.cookies());
    const coldPage = watch(await cold.newPage());
    await coldPage.goto(`${services.core}/console/apps/${appId}`);
    await coldPage.locator('[data-chart="events"][data-plotted]').waitFor();
    await coldPage.waitForLoadState('load');
    const measured = await coldPage.evaluate(() => {
      const perf = performance as any;
      const nav = perf.getEntriesByType('navigation')[0];
      const resources = perf.getEntriesByType('resource') as { transferSize: number; decodedBodySize: number }[];
      return {
        transferred: nav.transferSize + resources.reduce((s, r) => s + r.transferSize, 0),
        decoded: nav.decodedBodySize + resources.reduce((s, r) => s + r.decodedBodySize, 0),
        requests: 1 + resources.length,
        firstChartMs: performance.getEntriesByName('mosis:first-chart')[0]?.startTime ?? NaN,
        domContentLoadedMs: nav.domContentLoadedEventEnd,
      };
    });
    console.log(
      `console overview (cold cache): ${measured.requests} requests, ${(measured.transferred / 1024).toFixed(1)} KiB transferred ` +
        `(${(measured.decoded / 1024).toFixed(1)} KiB decoded); first chart drawn at ${measured.firstChartMs.toFixed(0)} ms ` +
        `after navigation start (DOMContentLoaded ${measured.domContentLoadedMs.toFixed(0)} ms)`,
    );
    expect(measured.firstChartMs).toBeGreaterThan(0);
    // uPlot is most of it (~22 KiB gzipped): the whole overview stays small.
    expect(measured.transferred).toBeLessThan(100 * 1024);
    await cold.close();

    await page.goto(`${services.core}/console/apps/${appId}`);
    const fig = page.locator('[data-chart="events"]');
    await fig.and(page.locator('[data-plotted]')).waitFor();
    // The table behind the chart, and what uPlot was given, both equal the API's daily series.
    const table = await fig.evaluate((f: any) => {
      const series = [...f.querySelectorAll('th[data-series]')].map((th: any) => th.dataset.series as string);
      return [...f.querySelectorAll('tbody tr')].flatMap((tr: any) =>
        [...tr.querySelectorAll('td[data-value]')].map((td: any, i) => ({ date: tr.querySelector('th').textContent as string, event_type: series[i]!, count: Number(td.dataset.value) })),
      );
    });
    const nonZero = <T extends { count: number }>(rows: T[]) => rows.filter((r) => r.count > 0);
    const byKey = (rows: { date: string; event_type: string; count: number }[]) => rows.map((r) => `${r.date} ${r.event_type} ${r.count}`).sort();
    expect(byKey(nonZero(table))).toEqual(byKey(nonZero(daily.map(({ date, event_type, count }) => ({ date, event_type, count })))));
    expect(table.length).toBe(daily.length);
    const plotted = JSON.parse((await fig.getAttribute('data-plotted'))!) as { x: number[]; series: Record<string, number[]> };
    for (const item of daily) {
      const at = plotted.x.indexOf(Date.parse(`${item.date}T00:00:00Z`));
      expect(plotted.series[item.event_type]![at], `${item.date} ${item.event_type}`).toBe(item.count);
    }
    expect(await page.locator('[data-chart="events"] canvas').count()).toBeGreaterThan(0);
    await shoot(page, 'overview');

    await page.getByRole('link', { name: 'Crashes' }).click();
    await page.getByRole('link', { name: 'camera is null' }).click();
    await expect.poll(() => page.locator('[data-stack-sample]').textContent()).toContain('com.browser.Camera.open(Camera.java:42)');
    expect(await page.locator('[data-crash-reports] tbody tr').count()).toBe(2);
    await shoot(page, 'crash-group');
    await page.goto(`${services.core}/console/apps/${appId}/crashes`);
    await shoot(page, 'crashes');
  }, SCENARIO_TIMEOUT_MS);

  it('the overview widgets of the analytics API (summary, crash-free, active devices, breakdown) equal its numbers', async () => {
    for (const r of ['/v1/apps/{id}/analytics/summary', '/v1/apps/{id}/analytics/active-devices', '/v1/apps/{id}/analytics/breakdown']) expect(await hasRoute(r), r).toBe(true);
    await page.goto(`${services.core}/console/apps/${appId}`);
    const now = Date.now();
    const to = new Date(now).toISOString().slice(0, 10);
    const from = new Date(now - 29 * 86_400_000).toISOString().slice(0, 10);
    const summary = (await api(`/v1/apps/${appId}/analytics/summary?from=${from}&to=${to}`)).body;
    for (const f of ['events', 'devices', 'crashes', 'crashed_devices']) {
      expect(await page.locator(`[data-summary] [data-field="${f}"]`).textContent()).toBe(summary[f].toLocaleString('en'));
    }
    expect(await page.locator('[data-field="crash_free_devices_pct"]').textContent()).toContain(String(Math.floor(summary.crash_free_devices_pct)));
    const active = (await api(`/v1/apps/${appId}/analytics/active-devices?from=${from}&to=${to}&interval=day`)).body;
    expect(await page.locator('[data-field="total_devices"]').textContent()).toBe(active.total_devices.toLocaleString('en'));
    await page.locator('[data-chart="active-devices"][data-plotted]').waitFor();
    const plotted = JSON.parse((await page.locator('[data-chart="active-devices"]').getAttribute('data-plotted'))!) as { x: number[]; series: { devices: number[] } };
    expect(plotted.series.devices).toEqual(active.items.map((i: { devices: number }) => i.devices));
    const breakdown = (await api(`/v1/apps/${appId}/analytics/breakdown?by=event_type&from=${from}&to=${to}&limit=20`)).body;
    const rows = await page.locator('[data-breakdown] tbody tr').evaluateAll((trs: any[]) => trs.map((tr) => [tr.querySelector('th').textContent, ...[...tr.querySelectorAll('td[data-value]')].map((td: any) => Number(td.dataset.value))]));
    expect(rows.slice(0, breakdown.items.length)).toEqual(breakdown.items.map((i: { value: string; count: number; devices: number }) => [i.value, i.count, i.devices]));
  }, SCENARIO_TIMEOUT_MS);

  it('the live view shows a new event within 2 s of its 202', async () => {
    expect(await hasRoute('/v1/apps/{id}/events')).toBe(true);
    await page.goto(`${services.core}/console/apps/${appId}/live`);
    const section = page.locator('[data-live]');
    await expect.poll(() => section.getAttribute('data-state')).toBe('live');
    const id = randomUUID();
    const sent = { event_id: id, app: packageId, device_id: 'live-device', event_type: 'live_check', timestamp: new Date().toISOString(), mosis_version: '1.4.2', data: { n: 1 } };
    await ingest('events', [sent]);
    const acked = Date.now();
    await page.locator(`[data-live-rows] tr[data-event-id="${id}"]`).waitFor({ timeout: LIVE_WITHIN_MS });
    console.log(`console live view: the new event appeared ${Date.now() - acked} ms after its 202`);
    await shoot(page, 'live');
  }, SCENARIO_TIMEOUT_MS);

  it('signing key, version, package upload with progress, submit; operator approves and publishes; in the catalog', async () => {
    const me = (await api('/v1/me')).body;
    const pair = ed25519KeyPair(me.id);
    await page.goto(`${services.core}/console/signing-keys`);
    await expect.poll(() => page.locator('[data-proof-howto]').textContent()).toContain(`mosis-signing-key:${me.id}`);
    await page.getByLabel('Name').fill('release');
    await page.getByLabel('Public key (PEM)').fill(pair.publicPem);
    await page.getByLabel('Proof').fill(pair.proof);
    await page.getByRole('button', { name: 'Add key' }).click();
    await page.waitForURL(/notice=signing_key_added/);
    await shoot(page, 'signing-keys');

    // 3 MiB: enough for several upload progress events.
    const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
    bytes.write(packageId);
    const file = { name: 'camera.mpk', mimeType: 'application/octet-stream', buffer: bytes };
    await page.goto(`${services.core}/console/apps/${appId}/versions`);
    await page.getByLabel('Version name').fill('1.0.0');
    await page.getByLabel('Package file (optional here)').setInputFiles(file);
    await expect.poll(() => page.getByLabel('Package size in bytes').inputValue()).toBe(String(bytes.length));
    // A wrong signature first: the upload's 422 is shown in words and nothing is kept.
    await page.getByRole('textbox', { name: /^Signature/ }).fill(signPackage(pair.privateKey, Buffer.from('other bytes')));
    await shoot(page, 'versions');
    await page.getByRole('button', { name: 'Create version' }).click();
    await page.waitForURL(/versions\/1\?notice=version_created/);
    await page.getByLabel('Package file').setInputFiles(file);
    await page.getByRole('button', { name: 'Upload' }).click();
    await expect.poll(() => page.locator('form[data-upload]').getAttribute('data-upload-state')).toBe('failed');
    expect(await page.locator('[data-upload-result]').textContent()).toMatch(/Not uploaded: .*signature/);
    await shoot(page, 'upload-refused');

    await page.getByLabel('New signature').fill(signPackage(pair.privateKey, bytes));
    await page.getByRole('button', { name: 'Replace signature' }).click();
    await page.waitForURL(/notice=signature_changed/);
    // Record the progress bar's texts across the navigation that follows a verified upload.
    await page.evaluate(() => {
      sessionStorage.setItem('progress', '[]');
      const text = document.querySelector('[data-upload-text]');
      new MutationObserver(() => {
        const seen = JSON.parse(sessionStorage.getItem('progress')) as string[];
        sessionStorage.setItem('progress', JSON.stringify([...seen, text.textContent]));
      }).observe(text, { childList: true, characterData: true, subtree: true });
    });
    await page.getByLabel('Replace the package').or(page.getByLabel('Package file')).setInputFiles(file);
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(/notice=package_verified/);
    const progress = JSON.parse((await page.evaluate(() => sessionStorage.getItem('progress')))!) as string[];
    expect(progress.at(-1)).toMatch(/3\.0 MiB of 3\.0 MiB \(100%\)/);
    await expect.poll(() => page.locator('[data-signature-check]').textContent()).toContain('Signature verified with signing key "release"');
    await page.getByRole('button', { name: 'Submit for review' }).click();
    await page.waitForURL(/notice=submitted/);
    expect(await page.locator('[data-review-state]').getAttribute('data-review-state')).toBe('review');
    await shoot(page, 'version');

    const ops = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const op = watch(await ops.newPage());
    await op.goto(`${services.core}/console/operator/sign-in`);
    await shoot(op, 'operator-sign-in');
    await op.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await op.getByRole('button', { name: 'Sign in as operator' }).click();
    await op.waitForURL(/\/console\/operator$/);
    const item = op.locator(`[data-queued="${packageId}:1"]`);
    await shoot(op, 'operator-queue');
    await item.getByRole('button', { name: 'Approve' }).click();
    await op.waitForURL(/notice=decided/);
    await op.getByLabel('Versions in state').selectOption('approved');
    await op.getByRole('button', { name: 'Show' }).click();
    await op.locator(`[data-queued="${packageId}:1"]`).getByRole('button', { name: 'Publish' }).click();
    await op.waitForURL(/notice=decided/);
    await ops.close();

    const entry = await fetch(`${services.core}/v1/catalog/apps/${packageId}`);
    expect(entry.status).toBe(200);
    const catalog = (await entry.json()) as { latest_version: { version_code: number; package: { url: string; size: number } } };
    expect(catalog.latest_version.version_code).toBe(1);
    expect(catalog.latest_version.package.size).toBe(bytes.length);
    const download = Buffer.from(await (await fetch(catalog.latest_version.package.url)).arrayBuffer());
    expect(download.equals(bytes)).toBe(true);
    await page.reload();
    expect(await page.locator('[data-review-state]').getAttribute('data-review-state')).toBe('published');
  }, SCENARIO_TIMEOUT_MS);

  it('API keys (shown once) and the audit log', async () => {
    await page.goto(`${services.core}/console/keys`);
    await page.getByLabel('Name').fill('ci');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.locator('[data-secret]').textContent())!.trim();
    expect(key).toMatch(/^mk_/);
    await shoot(page, 'api-keys');
    expect((await fetch(`${services.core}/v1/apps`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    await page.goto(`${services.core}/console/keys`);
    expect(await page.content()).not.toContain(key);
    await page.goto(`${services.core}/console/audit`);
    await expect.poll(() => page.locator('[data-audit] tr[data-action="version.submitted"]').count()).toBeGreaterThan(0);
    await shoot(page, 'audit');
  }, SCENARIO_TIMEOUT_MS);

  it('a form posted from another site is refused, cookie or not', async () => {
    // Pages of "another site" posting to the console: one cross-site (the session cookie is not even sent),
    // one same-site on another port (the cookie is sent: the Origin/Sec-Fetch-Site check refuses it).
    const evil: Server = createServer((req, res) => {
      const target = `${services.core}/console/apps`;
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><form id="f" method="post" action="${target}"><input name="package_id" value="com.evil.app"><input name="name" value="Evil"><input name="_csrf" value="guess"></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const port = (evil.address() as { port: number }).port;
    try {
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
        const p = watch(await dev.newPage());
        const response = p.waitForResponse((r) => r.url().endsWith('/console/apps') && r.request().method() === 'POST');
        await p.goto(`http://${host}/`);
        const res = await response;
        expect([303, 403], host).toContain(res.status());
        await p.waitForLoadState();
        if (res.status() === 403) expect(await p.locator('[data-error-code]').getAttribute('data-error-code')).toBe('csrf_failed');
        else expect(p.url()).toContain('/console/sign-in');
        if (host.startsWith('127.0.0.1')) {
          expect(res.status()).toBe(403);
          await shoot(p, 'csrf-refused');
        }
        await p.close();
      }
      const apps = (await api('/v1/apps')).body.items as { package_id: string }[];
      expect(apps.map((a) => a.package_id)).toEqual([packageId]);
    } finally {
      evil.close();
    }
  }, SCENARIO_TIMEOUT_MS);

  it('no page broke the Content-Security-Policy or threw a script error', () => {
    // API refusals the pages show in words (401, 403, 404, 422) are logged by Chromium as failed loads: not problems.
    expect(problems).toEqual([]);
  });
});
