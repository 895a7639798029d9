import { coreConfigSchema, createCoreApp } from '@mosis/core-api';
import { createIngest, createWorkerReader, ingestConfigSchema, openSqliteTelemetryReads, rollup, type IngestService, type SnapshotReader, type SqliteTelemetryReads } from '@mosis/ingest';
import { createLogger, DATABASES, databasePath, migrateUp, openDatabase, tempDir, type DB } from '@mosis/shared';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The whole telemetry path, in-process: devices POST to the real ingest app, the rollup runs on the real
 * telemetry.db, and developers read the numbers through the real core API.
 */

const dir = tempDir();
const silent = createLogger('test', 'silent');
const env = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
let core: ReturnType<typeof createCoreApp>;
let ingest: IngestService;
let portal: DB;
let telemetry: DB;
let reads: SqliteTelemetryReads;
let reader: SnapshotReader;
let token: string;
const apps: { id: string; package_id: string }[] = [];

/** Anything with Hono's `request` (both apps). */
type Requestable = { request: (p: string, i: RequestInit, e?: any) => Response | Promise<Response> };

async function call(app: Requestable, method: string, path: string, body?: unknown, tok?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (tok) headers.authorization = `Bearer ${tok}`;
  const res = await app.request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }, env);
  return { status: res.status, body: (await res.json()) as any };
}

beforeAll(async () => {
  portal = openDatabase(databasePath(dir.path, 'portal'));
  await migrateUp(portal, DATABASES.portal.migrations);
  reads = openSqliteTelemetryReads({ path: databasePath(dir.path, 'telemetry'), deviceSecret: 'k'.repeat(40), retentionDays: 90 });
  core = createCoreApp({
    config: coreConfigSchema.parse({ DATA_DIR: dir.path }),
    portal,
    telemetry: reads,
    log: silent,
    tuning: { scrypt: { N: 1024, r: 8, p: 1 } },
  });
  const reg = await call(core, 'POST', '/v1/auth/register', { email: 'dev@example.com', name: 'Dev', password: 'correct horse battery' });
  token = reg.body.token;
  for (const name of ['alpha', 'beta']) {
    const res = await call(core, 'POST', '/v1/apps', { package_id: `com.test.${name}`, name }, token);
    expect(res.status).toBe(201);
    apps.push(res.body);
  }
  telemetry = openDatabase(databasePath(dir.path, 'telemetry'));
  await migrateUp(telemetry, DATABASES.telemetry.migrations);
  ingest = createIngest({
    config: ingestConfigSchema.parse({ DATA_DIR: dir.path, DEVICE_HASH_SECRET: 'k'.repeat(40), INGEST_FLUSH_INTERVAL_MS: '0' }),
    telemetry,
    log: silent,
  });
  reader = createWorkerReader(telemetry.name);
});

afterAll(async () => {
  await reader.close();
  await ingest.close();
  await reads.close();
  telemetry.close();
  portal.close();
  dir.cleanup();
});

const DAY = 86_400_000;

describe('events to analytics', () => {
  it('telemetry_daily equals a from-scratch GROUP BY and the daily endpoint returns the same numbers', async () => {
    const now = Date.now();
    // A pool of event ids, so that retries and duplicates happen across batches.
    const ids = Array.from({ length: 30 }, () => randomUUID());
    const event = fc.record({
      app: fc.constantFrom(0, 1),
      device: fc.integer({ min: 0, max: 12 }),
      type: fc.constantFrom('app_open', 'screen:view', 'purchase.done'),
      // Across three to four months, late arrivals included (up to 80 days old).
      ageMs: fc.oneof(fc.integer({ min: 0, max: 80 * DAY }), fc.integer({ min: 0, max: 2 * DAY })),
      id: fc.option(fc.integer({ min: 0, max: ids.length - 1 }), { nil: undefined }),
    });
    const batches = fc.array(fc.record({ events: fc.array(event, { minLength: 1, maxLength: 40 }), rollup: fc.boolean() }), { minLength: 1, maxLength: 8 });

    await fc.assert(
      fc.asyncProperty(batches, async (bs) => {
        for (const b of bs) {
          const body = {
            events: b.events.map((e) => ({
              app: apps[e.app]!.package_id,
              device_id: `device-${e.device}`,
              event_type: e.type,
              timestamp: new Date(now - e.ageMs).toISOString(),
              ...(e.id !== undefined && { event_id: ids[e.id] }),
            })),
          };
          const res = await call(ingest.app, 'POST', '/v1/events', body);
          expect(res.status).toBe(202);
          expect(res.body.rejected).toEqual([]);
          if (b.rollup) await rollup({ db: telemetry, reader });
        }
        await rollup({ db: telemetry, reader });

        const truth = telemetry
          .prepare(
            `SELECT app_id, substr(timestamp, 1, 10) AS date, event_type, count(*) AS count, count(DISTINCT device_id) AS unique_devices
             FROM telemetry_events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
          )
          .all() as { app_id: string; date: string; event_type: string; count: number; unique_devices: number }[];
        const daily = telemetry.prepare('SELECT app_id, date, event_type, count, unique_devices FROM telemetry_daily ORDER BY 1, 2, 3').all();
        expect(daily).toEqual(truth);

        const from = new Date(now - 85 * DAY).toISOString().slice(0, 10);
        const to = new Date(now + DAY).toISOString().slice(0, 10);
        for (const app of apps) {
          const res = await call(core, 'GET', `/v1/apps/${app.id}/analytics/daily?from=${from}&to=${to}`, undefined, token);
          expect(res.status).toBe(200);
          const served = (res.body.items as { count: number }[]).filter((i) => i.count > 0);
          expect(served).toEqual(truth.filter((r) => r.app_id === app.id).map(({ app_id: _a, ...r }) => r).sort((a, b) => a.date.localeCompare(b.date) || a.event_type.localeCompare(b.event_type)));
        }
      }),
      { numRuns: 15 },
    );
  });
});

describe('crashes to crash groups', () => {
  const trace = (addr: number) =>
    [`#00 pc 0x${(0x4a8c0 + addr).toString(16)} /system/lib64/libc.so (abort+${164 + addr})`, `#01 pc 0x${(0x1234 + addr).toString(16)} /data/app/libgame.so (Renderer::draw()+${addr})`, '#02 pc 0x00000000deadbeef /data/app/libgame.so (main_loop)'].join('\n');

  it('the same crash from 50 devices is one group with 50 devices; another crash is another group', async () => {
    const app = apps[0]!;
    const now = Date.now();
    const crashes = Array.from({ length: 50 }, (_, i) => ({
      app: app.package_id,
      app_version: i % 2 ? '1.2.0' : '1.1.0',
      device_id: `crash-device-${i}`,
      crash_type: 'native_signal',
      message: 'SIGSEGV',
      stack_trace: trace(i * 16),
      timestamp: new Date(now - i * 60_000).toISOString(),
    }));
    crashes.push({ ...crashes[0]!, crash_type: 'managed_exception', message: 'NullPointerException', stack_trace: 'at com.test.Main.onCreate(Main.java:10)\nat android.app.Activity.performCreate(Activity.java:7)' });
    const res = await call(ingest.app, 'POST', '/v1/crashes', { crashes });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(51);
    await rollup({ db: telemetry, reader });

    const groups = await call(core, 'GET', `/v1/apps/${app.id}/crash-groups`, undefined, token);
    expect(groups.status).toBe(200);
    expect(groups.body.items).toHaveLength(2);
    expect(groups.body.items[0]).toMatchObject({ crash_type: 'native_signal', count: 50, devices: 50, app_versions: ['1.1.0', '1.2.0'] });
    expect(groups.body.items[1]).toMatchObject({ crash_type: 'managed_exception', count: 1, devices: 1 });

    // The group's raw reports, newest first, page by page.
    const fingerprint = groups.body.items[0].fingerprint;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: any } = await call(core, 'GET', `/v1/apps/${app.id}/crashes?fingerprint=${fingerprint}&limit=20${cursor ? `&cursor=${cursor}` : ''}`, undefined, token);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((c: { id: string }) => c.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(50);
    expect(new Set(seen).size).toBe(50);
  });
});
