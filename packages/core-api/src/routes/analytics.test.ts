import { DATABASES, migrateUp, openDatabase, tempDir, type DB } from '@mosis/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_APP_VERSIONS_PER_GROUP, MAX_SERIES_ITEMS } from '../limits.js';
import { createTestApp, type TestApp } from '../test-app.js';

const dir = tempDir();
let telemetry: DB | undefined;
let reader: DB | undefined;
let t: TestApp;
let token: string;
let appId: string;
let otherToken: string;

const T = (iso: string) => Date.parse(iso);

beforeAll(async () => {
  t = await createTestApp({ telemetry: () => reader });
  token = (await t.signup()).token;
  otherToken = (await t.signup()).token;
  const res = await t.call('POST', '/v1/apps', { token, body: { package_id: 'com.test.analytics', name: 'Analytics' } });
  appId = res.body.id;
});
afterAll(() => {
  reader?.close();
  telemetry?.close();
  t.close();
  dir.cleanup();
});

/** telemetry.db as ingest leaves it, with aggregates written directly; the core API reads it read-only. */
async function createTelemetry(): Promise<void> {
  telemetry = openDatabase(`${dir.path}/telemetry.db`);
  await migrateUp(telemetry, DATABASES.telemetry.migrations);
  const daily = telemetry.prepare('INSERT INTO telemetry_daily (app_id, date, event_type, count, unique_devices) VALUES (?, ?, ?, ?, ?)');
  daily.run(appId, '2026-11-01', 'app_open', 10, 4);
  daily.run(appId, '2026-11-03', 'app_open', 5, 2);
  daily.run(appId, '2026-11-03', 'click', 7, 3);
  daily.run('someone-elses-app', '2026-11-01', 'app_open', 99, 9);
  const crash = telemetry.prepare('INSERT INTO crash_daily VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  crash.run(appId, '2026-11-01', 'fp-a', 'native_signal', 'SIGSEGV first', 30, 20, T('2026-11-01T01:00:00Z'), T('2026-11-01T20:00:00Z'), '["1.0.0"]');
  crash.run(appId, '2026-11-02', 'fp-a', 'native_signal', 'SIGSEGV later', 25, 20, T('2026-11-02T01:00:00Z'), T('2026-11-02T22:00:00Z'), '["1.0.0","1.1.0"]');
  crash.run(appId, '2026-11-02', 'fp-b', 'managed_exception', 'NPE', 3, 1, T('2026-11-02T05:00:00Z'), T('2026-11-02T05:00:00Z'), '["1.1.0"]');
  const dev = telemetry.prepare('INSERT INTO crash_daily_devices VALUES (?, ?, ?, ?)');
  // fp-a: devices 1..20 on day one, 11..30 on day two: 30 distinct over both days (not 40).
  for (let d = 1; d <= 20; d++) dev.run(appId, '2026-11-01', 'fp-a', d);
  for (let d = 11; d <= 30; d++) dev.run(appId, '2026-11-02', 'fp-a', d);
  dev.run(appId, '2026-11-02', 'fp-b', 1);
  reader = openDatabase(`${dir.path}/telemetry.db`, { readonly: true });
}

const daily = (q: string, tok = token) => t.call('GET', `/v1/apps/${appId}/analytics/daily?${q}`, { token: tok });

describe('analytics before telemetry.db exists', () => {
  it('answers empty results, not 500', async () => {
    expect((await daily('from=2026-11-01&to=2026-11-02')).body).toEqual({ items: [] });
    const one = await daily('from=2026-11-01&to=2026-11-02&event_type=app_open');
    expect(one.body.items).toEqual([
      { date: '2026-11-01', event_type: 'app_open', count: 0, unique_devices: 0 },
      { date: '2026-11-02', event_type: 'app_open', count: 0, unique_devices: 0 },
    ]);
    expect((await t.call('GET', `/v1/apps/${appId}/crash-groups`, { token })).body).toEqual({ items: [] });
    expect((await t.call('GET', `/v1/apps/${appId}/crashes`, { token })).body).toEqual({ items: [], next_cursor: null });
  });
});

describe('analytics', () => {
  beforeAll(createTelemetry);

  it('returns the daily series with every day of the range, zeros where nothing happened', async () => {
    const res = await daily('from=2026-10-31&to=2026-11-03');
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      { date: '2026-10-31', event_type: 'app_open', count: 0, unique_devices: 0 },
      { date: '2026-10-31', event_type: 'click', count: 0, unique_devices: 0 },
      { date: '2026-11-01', event_type: 'app_open', count: 10, unique_devices: 4 },
      { date: '2026-11-01', event_type: 'click', count: 0, unique_devices: 0 },
      { date: '2026-11-02', event_type: 'app_open', count: 0, unique_devices: 0 },
      { date: '2026-11-02', event_type: 'click', count: 0, unique_devices: 0 },
      { date: '2026-11-03', event_type: 'app_open', count: 5, unique_devices: 2 },
      { date: '2026-11-03', event_type: 'click', count: 7, unique_devices: 3 },
    ]);
  });

  it('filters by event_type', async () => {
    const res = await daily('from=2026-11-01&to=2026-11-03&event_type=click');
    expect(res.body.items.map((i: { count: number }) => i.count)).toEqual([0, 0, 7]);
  });

  it('returns crash groups with exact distinct devices over the range', async () => {
    const res = await t.call('GET', `/v1/apps/${appId}/crash-groups?from=2026-11-01&to=2026-11-30`, { token });
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      { fingerprint: 'fp-a', crash_type: 'native_signal', message: 'SIGSEGV first', count: 55, devices: 30, first_seen: '2026-11-01T01:00:00.000Z', last_seen: '2026-11-02T22:00:00.000Z', app_versions: ['1.0.0', '1.1.0'] },
      { fingerprint: 'fp-b', crash_type: 'managed_exception', message: 'NPE', count: 3, devices: 1, first_seen: '2026-11-02T05:00:00.000Z', last_seen: '2026-11-02T05:00:00.000Z', app_versions: ['1.1.0'] },
    ]);
    const dayTwo = await t.call('GET', `/v1/apps/${appId}/crash-groups?from=2026-11-02&to=2026-11-02`, { token });
    expect(dayTwo.body.items[0]).toMatchObject({ fingerprint: 'fp-a', count: 25, devices: 20, message: 'SIGSEGV later' });
  });

  it.each([
    ['from after to', 'from=2026-11-03&to=2026-11-01'],
    ['a range over 400 days', 'from=2025-01-01&to=2026-02-05'],
    ['a malformed date', 'from=2026-1-01&to=2026-11-01'],
    ['an impossible date', 'from=2026-02-30&to=2026-03-01'],
    ['not a date at all', "from=';DROP TABLE x&to=2026-11-01"],
    ['a bad event_type', 'from=2026-11-01&to=2026-11-02&event_type=a%20b'],
  ])('answers 400 invalid_query for %s', async (_name, q) => {
    const res = await daily(q);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_query');
    const groups = await t.call('GET', `/v1/apps/${appId}/crash-groups?${q.replace(/&event_type=.*/, '&event_type=x')}`, { token });
    if (!q.includes('event_type')) expect(groups.status).toBe(400);
  });

  it('accepts exactly 400 days', async () => {
    const res = await daily('from=2025-01-01&to=2026-02-04&event_type=app_open');
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(400);
  });

  it('another developer gets 404 and never the data', async () => {
    for (const path of ['analytics/daily', 'crash-groups', 'crashes']) {
      const res = await t.call('GET', `/v1/apps/${appId}/${path}`, { token: otherToken });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
  });

  it('needs a token; an API key needs analytics:read', async () => {
    expect((await daily('from=2026-11-01&to=2026-11-01', '')).status).toBe(401);
    const without = await t.call('POST', '/v1/api-keys', { token, body: { name: 'apps only', permissions: ['apps:read'] } });
    const withIt = await t.call('POST', '/v1/api-keys', { token, body: { name: 'analytics', permissions: ['analytics:read'] } });
    expect((await daily('from=2026-11-01&to=2026-11-01', without.body.key)).status).toBe(403);
    const ok = await daily('from=2026-11-01&to=2026-11-01', withIt.body.key);
    expect(ok.status).toBe(200);
    expect(ok.body.items[0]).toMatchObject({ count: 10 });
  });
});

describe('bounded answers', () => {
  /** More event types than 30 days of them fit in one answer (40,000 items / 30 days = 1,333 types). */
  const TYPES = 3_000;
  let bigApp: string;
  beforeAll(async () => {
    if (!telemetry) await createTelemetry();
    bigApp = (await t.newApp(token)).id;
    const daily = telemetry!.prepare('INSERT INTO telemetry_daily (app_id, date, event_type, count, unique_devices) VALUES (?, ?, ?, ?, ?)');
    telemetry!.transaction(() => {
      for (let d = 1; d <= 30; d++) for (let i = 0; i < TYPES; i++) daily.run(bigApp, `2026-11-${String(d).padStart(2, '0')}`, `type_${i}`, 1, 1);
    })();
    const crash = telemetry!.prepare('INSERT INTO crash_daily VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const versions = Array.from({ length: MAX_APP_VERSIONS_PER_GROUP + 50 }, (_, i) => `1.0.${String(i).padStart(3, '0')}`);
    crash.run(bigApp, '2026-11-01', 'fp-many', 'native_signal', 'x', 1, 1, T('2026-11-01T01:00:00Z'), T('2026-11-01T01:00:00Z'), JSON.stringify(versions));
  });
  const series = (q: string) => t.call('GET', `/v1/apps/${bigApp}/analytics/daily?${q}`, { token });

  it(`refuses a series of more than ${MAX_SERIES_ITEMS} items before building it, saying how big and how to narrow it`, async () => {
    const res = await series('from=2026-11-01&to=2026-11-30');
    expect(res.status).toBe(400);
    const maxTypes = Math.floor(MAX_SERIES_ITEMS / 30);
    expect(res.body.error).toEqual({
      code: 'invalid_query',
      message:
        `this series would have at least ${30 * (maxTypes + 1)} items (30 days × at least ${maxTypes + 1} event types); ` +
        `an answer holds at most ${MAX_SERIES_ITEMS}: ask for one event_type, or a shorter from..to range`,
      details: { days: 30, event_types_at_least: maxTypes + 1, items_at_least: 30 * (maxTypes + 1), max_items: MAX_SERIES_ITEMS },
    });
    expect((await series('from=2026-11-01&to=2026-11-14')).status).toBe(400); // 14 × 3,000 = 42,000
  });

  it('answers a narrowed request: one event_type, or a range whose days × types fit', async () => {
    const one = await series('from=2026-11-01&to=2026-11-30&event_type=type_7');
    expect(one.status).toBe(200);
    expect(one.body.items).toHaveLength(30);
    const short = await series('from=2026-11-01&to=2026-11-13'); // 13 × 3,000 = 39,000
    expect(short.status).toBe(200);
    expect(short.body.items).toHaveLength(13 * TYPES);
  });

  it(`lists at most ${MAX_APP_VERSIONS_PER_GROUP} app versions per crash group, the first in sorted order`, async () => {
    const res = await t.call('GET', `/v1/apps/${bigApp}/crash-groups?from=2026-11-01&to=2026-11-30`, { token });
    expect(res.status).toBe(200);
    const versions = res.body.items[0].app_versions;
    expect(versions).toHaveLength(MAX_APP_VERSIONS_PER_GROUP);
    expect(versions[0]).toBe('1.0.000');
    expect(versions.at(-1)).toBe(`1.0.${String(MAX_APP_VERSIONS_PER_GROUP - 1).padStart(3, '0')}`);
  });
});
