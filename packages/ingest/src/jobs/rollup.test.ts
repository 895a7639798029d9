import { tempDir, type DB } from '@mosis/shared';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dropPartition } from '../store/partitions.js';
import { rebuildRange, rollupDirty } from './rollup.js';
import { createInlineReader, createWorkerReader, type SnapshotReader } from './snapshot-reader.js';
import { dailyAggregates, groupByFromScratch, insertCrashes, insertEvents, openMigratedTelemetry, type RawEvent } from './testing.js';

const dir = tempDir();
afterAll(() => dir.cleanup());

let db: DB;
let reader: SnapshotReader;
let n = 0;
beforeEach(async () => {
  const path = `${dir.path}/t${n++}.db`;
  db = await openMigratedTelemetry(path);
  reader = createWorkerReader(path);
});
afterEach(async () => {
  await reader.close();
  db.close();
});

const T = (iso: string) => Date.parse(iso);
const dirtyCount = () => (db.prepare('SELECT count(*) AS n FROM rollup_dirty').get() as { n: number }).n;

describe('rollup of events', () => {
  it('writes each dirty day’s counts and distinct devices, then clears the marks', async () => {
    insertEvents(db, [
      { app: 'a1', device: 1n, type: 'open', ts: T('2026-11-01T10:00:00Z') },
      { app: 'a1', device: 1n, type: 'open', ts: T('2026-11-01T11:00:00Z') },
      { app: 'a1', device: 2n, type: 'open', ts: T('2026-11-01T23:59:59.999Z') },
      { app: 'a1', device: 2n, type: 'click', ts: T('2026-11-02T00:00:00Z') },
      { app: 'a2', device: -5n, type: 'open', ts: T('2026-10-31T12:00:00Z') },
    ]);
    const stats = await rollupDirty({ db, reader });
    expect(stats).toMatchObject({ units: 3, days: 3, rawRows: 5, leftDirty: 0 });
    expect(dailyAggregates(db)).toEqual([
      { app_id: 'a1', date: '2026-11-01', event_type: 'open', count: 3, unique_devices: 2 },
      { app_id: 'a1', date: '2026-11-02', event_type: 'click', count: 1, unique_devices: 1 },
      { app_id: 'a2', date: '2026-10-31', event_type: 'open', count: 1, unique_devices: 1 },
    ]);
    expect(dirtyCount()).toBe(0);
  });

  it('a late event corrects its day on the next run, and a second run changes nothing', async () => {
    insertEvents(db, [{ app: 'a1', device: 1n, type: 'open', ts: T('2026-11-01T10:00:00Z') }]);
    await rollupDirty({ db, reader });
    insertEvents(db, [{ app: 'a1', device: 7n, type: 'open', ts: T('2026-11-01T09:00:00Z') }]);
    await rollupDirty({ db, reader });
    const once = dailyAggregates(db);
    expect(once).toEqual([{ app_id: 'a1', date: '2026-11-01', event_type: 'open', count: 2, unique_devices: 2 }]);
    expect(await rollupDirty({ db, reader })).toMatchObject({ units: 0 });
    expect(dailyAggregates(db)).toEqual(once);
  });

  it('leaves the mark dirty when rows arrive between its snapshot and its write', async () => {
    insertEvents(db, [{ app: 'a1', device: 1n, type: 'open', ts: T('2026-11-01T10:00:00Z') }]);
    const racing: SnapshotReader = {
      async read(q) {
        const snapshot = await reader.read(q);
        insertEvents(db, [{ app: 'a1', device: 2n, type: 'open', ts: T('2026-11-01T11:00:00Z') }]);
        return snapshot;
      },
      checkpoint: () => reader.checkpoint(),
      close: async () => {},
    };
    const stats = await rollupDirty({ db, reader: racing });
    expect(stats.leftDirty).toBe(1);
    expect(dirtyCount()).toBe(1);
    // The snapshot's numbers are written (progress on a busy day), the next run completes them.
    expect(dailyAggregates(db)[0]).toMatchObject({ count: 1 });
    await rollupDirty({ db, reader });
    expect(dailyAggregates(db)).toEqual(groupByFromScratch(db));
    expect(dirtyCount()).toBe(0);
  });

  it('never wipes aggregates of a day whose partition is gone', async () => {
    insertEvents(db, [{ app: 'a1', device: 1n, type: 'open', ts: T('2026-08-01T10:00:00Z') }]);
    await rollupDirty({ db, reader });
    db.prepare("INSERT INTO rollup_dirty (kind, app_id, day) VALUES ('events', 1, '2026-08-01')").run();
    dropPartition(db, 'telemetry_events_2026_08');
    await rollupDirty({ db, reader });
    await rebuildRange({ db, reader, from: '2026-08-01', to: '2026-08-31' });
    expect(dailyAggregates(db)).toEqual([{ app_id: 'a1', date: '2026-08-01', event_type: 'open', count: 1, unique_devices: 1 }]);
    expect(dirtyCount()).toBe(0);
  });

  it('rebuilds a range: a damaged aggregate is repaired, an emptied day is cleared', async () => {
    insertEvents(db, [
      { app: 'a1', device: 1n, type: 'open', ts: T('2026-11-01T10:00:00Z') },
      { app: 'a1', device: 1n, type: 'open', ts: T('2026-12-03T10:00:00Z') },
    ]);
    await rollupDirty({ db, reader });
    db.prepare("UPDATE telemetry_daily SET count = 99 WHERE date = '2026-11-01'").run();
    db.prepare("INSERT INTO telemetry_daily VALUES ('a1', '2026-11-05', 'ghost', 1, 1)").run();
    await rebuildRange({ db, reader, from: '2026-10-15', to: '2026-12-31' });
    expect(dailyAggregates(db)).toEqual(groupByFromScratch(db));
  });

  it('the inline reader and the worker reader agree', async () => {
    insertEvents(db, Array.from({ length: 200 }, (_, i) => ({ app: `a${i % 3}`, device: BigInt(i % 17), type: `t${i % 4}`, ts: T('2026-11-01T00:00:00Z') + i * 3_600_000 })));
    await rollupDirty({ db, reader: createInlineReader(db) });
    const inline = dailyAggregates(db);
    db.exec('DELETE FROM telemetry_daily');
    await rebuildRange({ db, reader, from: '2026-11-01', to: '2026-11-30' });
    expect(dailyAggregates(db)).toEqual(inline);
    db.exec('DELETE FROM telemetry_daily');
    // A throttled reader (as scheduled), same result.
    const throttled = createWorkerReader(db.name, { pauseRatio: 1 });
    await rebuildRange({ db, reader: throttled, from: '2026-11-01', to: '2026-11-30' });
    await throttled.close();
    expect(dailyAggregates(db)).toEqual(inline);
    expect(inline).toEqual(groupByFromScratch(db));
  });
});

describe('rollup equals a from-scratch GROUP BY (property)', () => {
  const MONTH_STARTS = ['2026-09-01', '2026-10-01', '2026-11-01'].map((d) => T(`${d}T00:00:00Z`));
  const SPAN_MS = 92 * 86_400_000;
  const event = fc.record({
    app: fc.constantFrom('app-a', 'app-b', 'app-c'),
    device: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).chain((d) => fc.constantFrom(d, 1n, 2n, -1n)),
    type: fc.constantFrom('app_open', 'click', 'screen:view'),
    // Clustered near month and day edges as well as anywhere in three months.
    ts: fc.oneof(
      fc.integer({ min: MONTH_STARTS[0]!, max: MONTH_STARTS[0]! + SPAN_MS }),
      fc.constantFrom(...MONTH_STARTS).chain((m) => fc.integer({ min: m - 2, max: m + 1 })),
    ),
    id: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
  });
  // Batches as ingest would commit them, each maybe followed by a rollup; ids repeat (retries, duplicates).
  const scenario = fc.array(fc.record({ events: fc.array(event, { minLength: 1, maxLength: 25 }), rollupAfter: fc.boolean() }), { minLength: 1, maxLength: 12 });

  it('after random batches with interleaved rollups', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (batches) => {
        db.exec('DELETE FROM telemetry_daily; DELETE FROM rollup_dirty;');
        for (const p of db.prepare('SELECT name FROM telemetry_partitions').all() as { name: string }[]) dropPartition(db, p.name);
        for (const b of batches) {
          insertEvents(
            db,
            b.events.map((e): RawEvent => ({ ...e, eventId: e.id === undefined ? undefined : Buffer.from(String(e.id).padStart(16, '0')) })),
          );
          if (b.rollupAfter) await rollupDirty({ db, reader });
        }
        await rollupDirty({ db, reader });
        expect(dailyAggregates(db)).toEqual(groupByFromScratch(db));
        expect(dirtyCount()).toBe(0);
      }),
      { numRuns: 40 },
    );
  });
});

describe('rollup of crashes', () => {
  const crashRows = () => db.prepare('SELECT * FROM crash_daily ORDER BY date, fingerprint').all() as Record<string, unknown>[];

  it('aggregates per day and fingerprint: count, distinct devices, first/last seen, versions, sample', async () => {
    insertCrashes(db, [
      ...Array.from({ length: 50 }, (_, i) => ({ app: 'a1', device: BigInt(1000 + i), ts: T('2026-11-01T10:00:00Z') + i, fingerprint: 'fp-segv', appVersion: i % 2 ? '1.1.0' : '1.0.0', message: i ? 'later' : 'first' })),
      { app: 'a1', device: 1000n, ts: T('2026-11-01T12:00:00Z'), fingerprint: 'fp-segv', appVersion: '1.0.0' },
      { app: 'a1', device: 1n, ts: T('2026-11-01T13:00:00Z'), fingerprint: 'fp-abort', crashType: 'managed_exception', message: 'NPE' },
    ]);
    await rollupDirty({ db, reader });
    expect(crashRows()).toEqual([
      { app_id: 'a1', date: '2026-11-01', fingerprint: 'fp-abort', crash_type: 'managed_exception', message: 'NPE', count: 1, devices: 1, first_seen: T('2026-11-01T13:00:00Z'), last_seen: T('2026-11-01T13:00:00Z'), app_versions: '["1.0.0"]' },
      { app_id: 'a1', date: '2026-11-01', fingerprint: 'fp-segv', crash_type: 'native_signal', message: 'first', count: 51, devices: 50, first_seen: T('2026-11-01T10:00:00Z'), last_seen: T('2026-11-01T12:00:00Z'), app_versions: '["1.0.0","1.1.0"]' },
    ]);
    const devices = db.prepare("SELECT count(*) AS n FROM crash_daily_devices WHERE fingerprint = 'fp-segv'").get();
    expect(devices).toEqual({ n: 50 });
  });

  it('keeps exact 64-bit device ids (distinct over several days counts a device once)', async () => {
    const big = 2n ** 63n - 1n;
    insertCrashes(db, [
      { app: 'a1', device: big, ts: T('2026-11-01T10:00:00Z'), fingerprint: 'fp' },
      { app: 'a1', device: big - 1n, ts: T('2026-11-01T10:00:00Z'), fingerprint: 'fp' },
      { app: 'a1', device: big, ts: T('2026-11-02T10:00:00Z'), fingerprint: 'fp' },
    ]);
    await rollupDirty({ db, reader });
    const row = db.prepare("SELECT count(DISTINCT device_id) AS n FROM crash_daily_devices WHERE app_id = 'a1' AND fingerprint = 'fp'").get();
    expect(row).toEqual({ n: 2 });
    const ids = db.prepare('SELECT device_id FROM crash_daily_devices ORDER BY date, device_id').safeIntegers(true).all() as { device_id: bigint }[];
    expect(ids.map((r) => r.device_id)).toEqual([big - 1n, big, big]);
  });
});
