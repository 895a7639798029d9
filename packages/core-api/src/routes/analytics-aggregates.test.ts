import { addDays, openPgTelemetryReads, type TelemetryReads } from '@mosis/ingest';
import { createMigratedPgDatabase, describePg } from '@mosis/ingest/testing-pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_DEVICE_SECRET, type TestApp } from '../test-app.js';
import { startTestTelemetry, type TestTelemetry } from '../test-telemetry.js';

/**
 * Active devices, breakdowns, the summary and CSV through the real core API, over events and crashes that
 * went through real ingest and the rollup. The fixture is small and every number is counted by hand, so the
 * answers are exact whatever keeps the aggregates (exact sets below 1,000 devices). The whole suite runs
 * twice: on telemetry.db, and with the core API reading a telemetry PostgreSQL (TELEMETRY_DATABASE_URL's
 * PgTelemetryReads) that holds the same rows.
 */

let t: TestApp;
let tel: TestTelemetry;
let token: string;
let app: { id: string; package_id: string };
let quiet: { id: string };

const today = new Date().toISOString().slice(0, 10);
/** A Monday three weeks back: D(0) and D(7) start ISO weeks, all within the raw retention and before today. */
const monday = addDays(today, -((new Date(`${today}T00:00:00Z`).getUTCDay() + 6) % 7) - 21);
const D = (n: number) => addDays(monday, n);

interface Fixture {
  device: string;
  type: string;
  day: number;
  app_version?: string;
  mosis_version?: string;
  data?: Record<string, unknown>;
}
const EVENTS: Fixture[] = [
  { device: 'd1', type: 'app_open', day: 0, app_version: '1.0.0', mosis_version: '1.4.2', data: { screen: 'home' } },
  { device: 'd1', type: 'app_open', day: 0, app_version: '1.0.0', mosis_version: '1.4.2', data: { screen: 'home' } },
  { device: 'd2', type: 'app_open', day: 0, app_version: '1.1.0', mosis_version: '1.4.2', data: { screen: 'settings' } },
  { device: 'd2', type: 'purchase', day: 0, app_version: '1.1.0', mosis_version: '1.4.2', data: { screen: 'home' } },
  { device: 'd1', type: 'click', day: 1 },
  { device: 'd3', type: 'app_open', day: 1, app_version: '1.1.0', mosis_version: '1.4.2' },
  { device: 'd4', type: 'app_open', day: 7, app_version: '1.1.0', mosis_version: '1.5.0' },
  { device: 'd1', type: 'app_open', day: 7, app_version: '1.1.0', mosis_version: '1.5.0' },
];
/** d3 also sent events; d5 only crashed. */
const CRASHES = [
  { device: 'd3', day: 1 },
  { device: 'd5', day: 7 },
];

/** Each backend's setup: the test app reading telemetry there, and ingest writing the fixture for it. */
async function start(backend: 'sqlite' | 'postgres'): Promise<() => Promise<void>> {
  let pg: Awaited<ReturnType<typeof createMigratedPgDatabase>> | undefined;
  let reads: TelemetryReads | undefined;
  if (backend === 'postgres') {
    pg = await createMigratedPgDatabase();
    reads = openPgTelemetryReads({ url: pg.url, deviceSecret: TEST_DEVICE_SECRET, retentionDays: 90 });
  }
  t = await createTestApp(reads ? { telemetry: reads } : {});
  token = (await t.signup()).token;
  app = await t.newApp(token);
  quiet = await t.newApp(token);
  tel = await startTestTelemetry(t, pg ? { pg: pg.pool } : {});
  await tel.events(
    EVENTS.map((e, i) => ({
      app: app.package_id,
      device_id: e.device,
      event_type: e.type,
      timestamp: `${D(e.day)}T10:00:${String(i).padStart(2, '0')}.000Z`,
      ...(e.app_version && { app_version: e.app_version }),
      ...(e.mosis_version && { mosis_version: e.mosis_version }),
      ...(e.data && { data: e.data }),
    })),
  );
  await tel.crashes(
    CRASHES.map((c) => ({ app: app.package_id, app_version: '1.1.0', device_id: c.device, crash_type: 'native_signal', message: 'SIGSEGV', timestamp: `${D(c.day)}T11:00:00.000Z` })),
  );
  await tel.rollUp();
  return async () => {
    await tel?.close();
    t?.close();
    await reads?.close();
    await pg?.close();
  };
}

function suite(backend: 'sqlite' | 'postgres') {
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    stop = await start(backend);
  });
  afterAll(() => stop?.());

  const get = (path: string, headers?: Record<string, string>) => t.call('GET', `/v1/apps/${app.id}/${path}`, { token, headers });

  describe('GET /analytics/active-devices', () => {
    it('counts distinct devices per day, zeros included, and once over the range', async () => {
      const res = await get(`analytics/active-devices?from=${D(0)}&to=${D(7)}&interval=day`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        items: [2, 2, 0, 0, 0, 0, 0, 2].map((devices, i) => ({ period_start: D(i), devices })),
        total_devices: 4,
      });
    });

    it('counts per ISO week (Monday first), a device once per week, and the range total is not the sum', async () => {
      const res = await get(`analytics/active-devices?from=${D(0)}&to=${D(13)}&interval=week`);
      expect(res.body).toEqual({ items: [{ period_start: D(0), devices: 3 }, { period_start: D(7), devices: 2 }], total_devices: 4 });
    });

    it('counts per month: one item per month the range touches', async () => {
      const res = await get(`analytics/active-devices?from=${D(0)}&to=${D(7)}&interval=month`);
      const months = [...new Set([D(0), D(1), D(7)].map((d) => d.slice(0, 7)))];
      const devicesIn = (m: string) => new Set(EVENTS.filter((e) => D(e.day).startsWith(m)).map((e) => e.device)).size;
      expect(res.body.items.map((i: { devices: number }) => i.devices)).toEqual(months.map(devicesIn));
      expect(res.body.items.at(-1).period_start).toBe(`${months.at(-1)}-01`);
      expect(res.body.total_devices).toBe(4);
    });

    it('answers zeros for an app without events', async () => {
      const res = await t.call('GET', `/v1/apps/${quiet.id}/analytics/active-devices?from=${D(0)}&to=${D(1)}`, { token });
      expect(res.body).toEqual({ items: [{ period_start: D(0), devices: 0 }, { period_start: D(1), devices: 0 }], total_devices: 0 });
    });
  });

  describe('GET /analytics/breakdown', () => {
    const range = `from=${D(0)}&to=${D(7)}`;
    it.each([
      ['event_type', '&limit=2', [{ value: 'app_open', count: 6, devices: 4 }, { value: 'click', count: 1, devices: 1 }], 1],
      ['app_version', '', [{ value: '1.1.0', count: 5, devices: 4 }, { value: '1.0.0', count: 2, devices: 1 }, { value: null, count: 1, devices: 1 }], 0],
      ['mosis_version', '', [{ value: '1.4.2', count: 5, devices: 3 }, { value: '1.5.0', count: 2, devices: 2 }, { value: null, count: 1, devices: 1 }], 0],
      ['data.screen', '', [{ value: null, count: 4, devices: 3 }, { value: 'home', count: 3, devices: 2 }, { value: 'settings', count: 1, devices: 1 }], 0],
      ['app_version', '&event_type=app_open', [{ value: '1.1.0', count: 4, devices: 4 }, { value: '1.0.0', count: 2, devices: 1 }], 0],
      ['data.screen', '&limit=1', [{ value: null, count: 4, devices: 3 }], 4],
      ['event_type', '&event_type=never_sent', [], 0],
    ])('by %s%s: most frequent first, devices distinct, the rest in other_count', async (by, extra, items, other) => {
      const res = await get(`analytics/breakdown?${range}&by=${by}${extra}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ by, items, other_count: other });
    });

    it('refuses data.KEY over days before the raw retention, naming from and the first day kept', async () => {
      const res = await get(`analytics/breakdown?from=${addDays(today, -91)}&to=${today}&by=data.screen`);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_query', message: expect.stringMatching(/^from: /), details: { earliest: addDays(today, -90) } });
      expect((await get(`analytics/breakdown?from=${addDays(today, -90)}&to=${today}&by=data.screen`)).status).toBe(200);
    });
  });

  describe('GET /analytics/summary', () => {
    it('counts events, devices of events or crashes once, crashes, crashed devices and the crash-free share', async () => {
      const res = await get(`analytics/summary?from=${D(0)}&to=${D(7)}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        events: 8,
        devices: 5,
        crashes: 2,
        crashed_devices: 2,
        crash_free_devices_pct: 60,
        top_event_types: [
          { event_type: 'app_open', count: 6 },
          { event_type: 'click', count: 1 },
          { event_type: 'purchase', count: 1 },
        ],
      });
    });

    it('over one day: only that day, a crash-only device included', async () => {
      const res = await get(`analytics/summary?from=${D(7)}&to=${D(7)}`);
      expect(res.body).toMatchObject({ events: 2, devices: 3, crashes: 1, crashed_devices: 1, top_event_types: [{ event_type: 'app_open', count: 2 }] });
      expect(res.body.crash_free_devices_pct).toBeCloseTo(200 / 3, 1);
    });

    it('answers zeros and a null share without devices', async () => {
      const res = await t.call('GET', `/v1/apps/${quiet.id}/analytics/summary?from=${D(0)}&to=${D(7)}`, { token });
      expect(res.body).toEqual({ events: 0, devices: 0, crashes: 0, crashed_devices: 0, crash_free_devices_pct: null, top_event_types: [] });
    });
  });

  describe('Accept: text/csv', () => {
    it('answers the daily series as an RFC 4180 download with a header row, the same rows as the JSON', async () => {
      const q = `analytics/daily?from=${D(0)}&to=${D(1)}`;
      const json = await get(q);
      const csv = await get(q, { accept: 'text/csv' });
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="${app.package_id}-daily-${D(0)}-${D(1)}.csv"`);
      expect(csv.headers.get('vary')).toBe('Accept');
      const rows = json.body.items.map((i: Record<string, unknown>) => `${i.date},${i.event_type},${i.count},${i.unique_devices}`);
      expect(csv.text).toBe(['date,event_type,count,unique_devices', ...rows].join('\r\n') + '\r\n');
      expect(rows).toContain(`${D(0)},app_open,3,2`);
    });

    it('answers active devices as CSV, the total in X-Total-Devices', async () => {
      const csv = await get(`analytics/active-devices?from=${D(0)}&to=${D(13)}&interval=week`, { accept: 'text/csv;q=0.9, application/xml' });
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="${app.package_id}-active-devices-week-${D(0)}-${D(13)}.csv"`);
      expect(csv.headers.get('x-total-devices')).toBe('4');
      expect(csv.text).toBe(`period_start,devices\r\n${D(0)},3\r\n${D(7)},2\r\n`);
    });

    it.each([
      ['no Accept', undefined],
      ['*/*', '*/*'],
      ['JSON preferred', 'text/csv;q=0.5, application/json'],
      ['a tie', 'text/csv, application/json'],
      ['CSV refused', 'text/csv;q=0, */*'],
    ])('answers JSON for %s', async (_name, accept) => {
      const res = await get(`analytics/active-devices?from=${D(0)}&to=${D(1)}`, accept ? { accept } : {});
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body.total_devices).toBe(3);
    });
  });
}

describe('analytics over telemetry.db', () => suite('sqlite'));
describePg('analytics over a telemetry PostgreSQL', () => suite('postgres'));
