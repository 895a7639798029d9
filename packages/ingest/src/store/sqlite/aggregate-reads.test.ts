import { createMigrator, DATABASES, openDatabase, tempDir, type DB } from '@mosis/shared';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rollup } from './rollup.js';
import { createInlineReader } from './snapshot-reader.js';
import { insertCrashes, insertEvents, legacyPartition, openMigratedTelemetry } from './testing.js';
import { MAX_BREAKDOWN_ITEMS, MAX_CRASH_GROUP_APP_VERSIONS } from '../../limits.js';
import { copyFromSqlite } from '../postgres/copy-from-sqlite.js';
import { PgAggregateReads } from '../postgres/aggregate-reads.js';
import { migratePgUp } from '../postgres/migrate.js';
import { openPgPool } from '../postgres/pool.js';
import { createMigratedPgDatabase, createTestPgDatabase, describePg } from '../postgres/testing.js';
import { SqliteAggregateReads } from './aggregate-reads.js';
import { type AggregateReads } from '../reads.js';

const dir = tempDir();
afterAll(() => dir.cleanup());

const T = (iso: string) => Date.parse(iso);
const NOW = T('2026-11-20T12:00:00Z');
const q = { appId: 'a1', from: '2026-11-01', to: '2026-11-30' };
let db: DB;
let n = 0;
beforeEach(async () => {
  db = await openMigratedTelemetry(`${dir.path}/r${n++}.db`);
});
afterEach(() => db.close());

const rolledUp = () => rollup({ db, reader: createInlineReader(db), now: () => NOW });

/** Every aggregate read, once, over `q`. */
async function everyRead(r: AggregateReads) {
  return [
    await r.dailyCounts(q),
    await r.eventTypeCount(q),
    await r.activeDevices({ ...q, to: '2026-11-03', interval: 'day' }),
    await r.breakdown({ ...q, by: { kind: 'event_type' }, limit: 10 }),
    await r.breakdown({ ...q, by: { kind: 'data', key: 'screen' }, limit: 10 }),
    await r.summary({ ...q, topEventTypes: 5 }),
    await r.crashGroups({ ...q, limit: 10 }),
  ];
}
const EMPTY = [
  [],
  0,
  { items: ['2026-11-01', '2026-11-02', '2026-11-03'].map((period_start) => ({ period_start, devices: 0 })), total_devices: 0 },
  { items: [], other_count: 0 },
  { items: [], other_count: 0 },
  { events: 0, devices: 0, crashes: 0, crashed_devices: 0, crash_free_devices_pct: null, top_event_types: [] },
  [],
];

/**
 * The aggregate reads over rows stored and rolled up on telemetry.db, on both backends: `reads()` answers
 * SQLite's, or PostgreSQL's over a copy of that telemetry.db made just then (copy-from-sqlite.ts), so both
 * must give the same answers from the same rows.
 */
function aggregateReadsSuite(reads: () => Promise<AggregateReads>) {
  it('counts event types only up to cap + 1 when given a cap', async () => {
    insertEvents(db, Array.from({ length: 7 }, (_, i) => ({ app: 'a1', device: 1n, type: `t${i}`, ts: T('2026-11-02T10:00:00Z') })));
    await rolledUp();
    expect(await (await reads()).eventTypeCount(q)).toBe(7);
    expect(await (await reads()).eventTypeCount({ ...q, cap: 3 })).toBe(4);
    expect(await (await reads()).eventTypeCount({ ...q, cap: 7 })).toBe(7);
  });

  it('a breakdown lists at most MAX_BREAKDOWN_ITEMS values and sums the rest; a bad data key is refused', async () => {
    insertEvents(db, Array.from({ length: MAX_BREAKDOWN_ITEMS + 5 }, (_, i) => ({ app: 'a1', device: BigInt(i), type: `t${String(i).padStart(3, '0')}`, ts: T('2026-11-02T10:00:00Z') })));
    await rolledUp();
    const b = await (await reads()).breakdown({ ...q, by: { kind: 'event_type' }, limit: 1_000 });
    expect(b.items).toHaveLength(MAX_BREAKDOWN_ITEMS);
    expect(b.items[0]).toEqual({ value: 't000', count: 1, devices: 1 });
    expect(b.other_count).toBe(5);
    await expect((await reads()).breakdown({ ...q, by: { kind: 'data', key: 'a.b' }, limit: 5 })).rejects.toThrow(RangeError);
    await expect((await reads()).breakdown({ ...q, by: { kind: 'data', key: `x') OR 1=1 --` }, limit: 5 })).rejects.toThrow(RangeError);
  });

  it('by data.KEY: JSON scalars as text, objects as JSON cut to 256 characters, missing or null as null', async () => {
    const data = [{ screen: 'home' }, { screen: 'home' }, { screen: 3 }, { screen: true }, { screen: null }, {}, { screen: { deep: 'x'.repeat(300) } }];
    insertEvents(db, data.map((d, i) => ({ app: 'a1', device: BigInt(i % 3), type: 'open', ts: T('2026-11-02T10:00:00Z') + i, data: JSON.stringify(d) })));
    await rolledUp();
    const b = await (await reads()).breakdown({ ...q, by: { kind: 'data', key: 'screen' }, limit: 10 });
    expect(b).toEqual({
      items: [
        { value: null, count: 2, devices: 2 },
        { value: 'home', count: 2, devices: 2 },
        { value: '3', count: 1, devices: 1 },
        { value: 'true', count: 1, devices: 1 },
        { value: JSON.stringify({ deep: 'x'.repeat(300) }).slice(0, 256), count: 1, devices: 1 },
      ],
      other_count: 0,
    });
  });

  it('reads raw rows only within retention (a partition made before 0006 keeps one older row)', async () => {
    legacyPartition(db, 'events', '2026-11');
    insertEvents(db, [
      { app: 'a1', device: 1n, type: 'open', ts: T('2026-11-10T10:00:00Z'), data: '{"screen":"new"}' },
      { app: 'a1', device: 2n, type: 'open', ts: T('2026-11-02T10:00:00Z'), data: '{"screen":"old"}' },
    ]);
    await rolledUp();
    db.prepare("INSERT INTO retention_watermark (kind, kept_from) VALUES ('events', '2026-11-05')").run();
    expect(await (await reads()).breakdown({ ...q, by: { kind: 'data', key: 'screen' }, limit: 10 })).toEqual({ items: [{ value: 'new', count: 1, devices: 1 }], other_count: 0 });
    // The aggregates keep both days.
    expect(await (await reads()).breakdown({ ...q, by: { kind: 'event_type' }, limit: 10 })).toEqual({ items: [{ value: 'open', count: 2, devices: 2 }], other_count: 0 });
  });

  it('days rolled up before 0006 count their events but, without sketches, no devices', async () => {
    db.prepare("INSERT INTO telemetry_daily (app_id, date, event_type, count, unique_devices) VALUES ('a1', '2026-11-01', 'open', 10, 4)").run();
    insertEvents(db, [{ app: 'a1', device: 1n, type: 'open', ts: T('2026-11-02T10:00:00Z') }]);
    await rolledUp();
    const r = await reads();
    expect(await r.activeDevices({ ...q, to: '2026-11-02', interval: 'day' })).toEqual({
      items: [
        { period_start: '2026-11-01', devices: 0 },
        { period_start: '2026-11-02', devices: 1 },
      ],
      total_devices: 1,
    });
    expect(await r.summary({ ...q, topEventTypes: 1 })).toMatchObject({ events: 11, devices: 1, top_event_types: [{ event_type: 'open', count: 11 }] });
  });

  it('names each period by its first day, counting only the days in range', async () => {
    // 2026-11-04 is a Wednesday; its ISO week starts Monday 11-02.
    insertEvents(db, [
      { app: 'a1', device: 1n, type: 'open', ts: T('2026-11-03T10:00:00Z') },
      { app: 'a1', device: 2n, type: 'open', ts: T('2026-11-04T10:00:00Z') },
      { app: 'a1', device: 3n, type: 'open', ts: T('2026-12-01T10:00:00Z') },
    ]);
    await rollup({ db, reader: createInlineReader(db), now: () => T('2026-12-10T00:00:00Z') });
    const week = await (await reads()).activeDevices({ appId: 'a1', from: '2026-11-04', to: '2026-11-10', interval: 'week' });
    expect(week).toEqual({ items: [{ period_start: '2026-11-02', devices: 1 }, { period_start: '2026-11-09', devices: 0 }], total_devices: 1 });
    const month = await (await reads()).activeDevices({ appId: 'a1', from: '2026-11-03', to: '2026-12-01', interval: 'month' });
    expect(month).toEqual({ items: [{ period_start: '2026-11-01', devices: 2 }, { period_start: '2026-12-01', devices: 1 }], total_devices: 3 });
  });

  it(`crash groups list at most ${MAX_CRASH_GROUP_APP_VERSIONS} app versions, the first in sorted order; a device crashing on two days counts once`, async () => {
    const versions = Array.from({ length: MAX_CRASH_GROUP_APP_VERSIONS + 1 }, (_, i) => `1.${String(i).padStart(3, '0')}`);
    insertCrashes(db, versions.map((v, i) => ({ app: 'a1', device: BigInt(i % 2), ts: T('2026-11-02T10:00:00Z') + i * 60_000 * 60 * 6, fingerprint: 'fp', appVersion: v })));
    await rolledUp();
    const [g] = await (await reads()).crashGroups({ ...q, limit: 5 });
    expect(g).toMatchObject({ fingerprint: 'fp', count: versions.length, devices: 2 });
    expect(g!.app_versions).toEqual(versions.slice(0, MAX_CRASH_GROUP_APP_VERSIONS));
    const s = await (await reads()).summary({ ...q, topEventTypes: 1 });
    expect(s).toEqual({ events: 0, devices: 2, crashes: versions.length, crashed_devices: 2, crash_free_devices_pct: 0, top_event_types: [] });
  });
}

describe('SqliteAggregateReads', () => {
  it('answer empty before telemetry.db exists, and before it is migrated', async () => {
    expect(await everyRead(new SqliteAggregateReads(() => undefined))).toEqual(EMPTY);
    const bare = openDatabase(`${dir.path}/bare${n}.db`);
    try {
      expect(await everyRead(new SqliteAggregateReads(() => bare))).toEqual(EMPTY);
      // Migrated as the release before: telemetry_daily without sketches, no dimension table yet.
      const names = (await (await createMigrator(bare, DATABASES.telemetry.migrations)).pending()).map((m) => m.name);
      await (await createMigrator(bare, DATABASES.telemetry.migrations)).up({ to: names[names.indexOf('0006_incremental_rollup') - 1]! });
      expect(await everyRead(new SqliteAggregateReads(() => bare))).toEqual(EMPTY);
    } finally {
      bare.close();
    }
  });

  aggregateReadsSuite(async () => new SqliteAggregateReads(() => db));
});

describePg('PgAggregateReads', () => {
  let pg: Awaited<ReturnType<typeof createMigratedPgDatabase>>;
  beforeAll(async () => {
    pg = await createMigratedPgDatabase();
  });
  afterAll(async () => pg?.close());
  // Each test starts from an empty telemetry PostgreSQL, as from a new telemetry.db.
  beforeEach(async () => {
    const tables = (await pg.pool.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('schema_migrations', 'rollup_positions', 'telemetry_partitions') AND tablename NOT LIKE '%\\_20__\\___'")).rows.map((r) => r.t);
    await pg.pool.query(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY CASCADE`);
    await pg.pool.query('UPDATE rollup_positions SET last_id = 0');
  });

  it('answer empty before the server is migrated', async () => {
    const bare = await createTestPgDatabase();
    const pool = openPgPool(bare.url);
    try {
      expect(await everyRead(new PgAggregateReads(pool))).toEqual(EMPTY);
      await migratePgUp(pool);
      expect(await everyRead(new PgAggregateReads(pool))).toEqual(EMPTY);
    } finally {
      await pool.end();
      await bare.drop();
    }
  });

  aggregateReadsSuite(async () => {
    await copyFromSqlite(db, pg.pool, { retentionDays: 3_650, now: () => NOW, allowUnfolded: true });
    return new PgAggregateReads(pg.pool);
  });
});
