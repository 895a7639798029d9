import { tempDir, type DB } from '@mosis/shared';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceSketch } from '../../sketch/device-sketch.js';
import { dropPartition } from './partitions.js';
import type { WriteGate } from './pipeline.js';
import { rebuildRange } from './rollup-rebuild.js';
import { rollup, rowsWaiting } from './rollup.js';
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
const DAY = 86_400_000;
/** The clock of most runs below: 2026-11-02 is today, 11-01 yesterday (open), 10-31 and before closed. */
const NOW = T('2026-11-02T12:00:00Z');
const at = (now: number) => () => now;

const dims = () => db.prepare("SELECT app_id, date, dim, value, count, devices FROM telemetry_daily_dims ORDER BY 1, 2, 3, 4").all();
const deviceRows = () => (db.prepare('SELECT count(*) AS n FROM device_days').get() as { n: number }).n;
const positions = () => db.prepare('SELECT name, last_id FROM rollup_positions ORDER BY name').all();
const sketchOf = (sql: string, ...params: unknown[]) => {
  const blob = db.prepare(sql).pluck().get(...params) as Buffer | null;
  return blob ? DeviceSketch.fromBuffer(blob) : null;
};

describe('incremental rollup of events', () => {
  const sample: RawEvent[] = [
    { app: 'a1', device: 1n, type: 'open', ts: T('2026-11-02T10:00:00Z'), mosisVersion: '1.4.2', appVersion: '2.0' },
    { app: 'a1', device: 1n, type: 'open', ts: T('2026-11-02T11:00:00Z'), mosisVersion: '1.4.2' },
    { app: 'a1', device: 2n, type: 'click', ts: T('2026-11-02T11:30:00Z'), mosisVersion: '1.5.0', appVersion: '2.0' },
    { app: 'a1', device: 2n, type: 'open', ts: T('2026-11-01T23:59:59.999Z') },
    { app: 'a2', device: -5n, type: 'open', ts: T('2026-10-31T12:00:00Z'), appVersion: '1.0' },
  ];

  it('folds counts and exact devices per day and dimension, and moves each partition to its last id', async () => {
    insertEvents(db, sample);
    const stats = await rollup({ db, reader, now: at(NOW) });
    expect(stats).toMatchObject({ rows: 5, skippedRows: 0, closedDays: 1, aborted: false });
    expect(dailyAggregates(db)).toEqual(groupByFromScratch(db));
    expect(dims()).toEqual([
      { app_id: 'a1', date: '2026-11-01', dim: '', value: '', count: 1, devices: 1 },
      { app_id: 'a1', date: '2026-11-01', dim: 'app_version', value: '', count: 1, devices: 1 },
      { app_id: 'a1', date: '2026-11-01', dim: 'mosis_version', value: '', count: 1, devices: 1 },
      { app_id: 'a1', date: '2026-11-02', dim: '', value: '', count: 3, devices: 2 },
      { app_id: 'a1', date: '2026-11-02', dim: 'app_version', value: '', count: 1, devices: 1 },
      { app_id: 'a1', date: '2026-11-02', dim: 'app_version', value: '2.0', count: 2, devices: 2 },
      { app_id: 'a1', date: '2026-11-02', dim: 'mosis_version', value: '1.4.2', count: 2, devices: 1 },
      { app_id: 'a1', date: '2026-11-02', dim: 'mosis_version', value: '1.5.0', count: 1, devices: 1 },
      { app_id: 'a2', date: '2026-10-31', dim: '', value: '', count: 1, devices: 1 },
      { app_id: 'a2', date: '2026-10-31', dim: 'app_version', value: '1.0', count: 1, devices: 1 },
      { app_id: 'a2', date: '2026-10-31', dim: 'mosis_version', value: '', count: 1, devices: 1 },
    ]);
    expect(positions()).toEqual([
      { name: 'telemetry_events_2026_10', last_id: 1 },
      { name: 'telemetry_events_2026_11', last_id: 4 },
    ]);
    // Open days keep exact device rows; 10-31 closed: its devices are sketches, its rows gone.
    expect(db.prepare('SELECT DISTINCT day FROM device_days ORDER BY day').pluck().all()).toEqual([T('2026-11-01') / DAY, T('2026-11-02') / DAY]);
    const closed = sketchOf("SELECT sketch FROM telemetry_daily_dims WHERE app_id = 'a2' AND date = '2026-10-31' AND dim = ''");
    expect(closed?.exact).toBe(true);
    expect(closed?.count()).toBe(1);
    expect(sketchOf("SELECT sketch FROM telemetry_daily WHERE app_id = 'a2' AND date = '2026-10-31'")?.count()).toBe(1);
    expect(sketchOf("SELECT sketch FROM telemetry_daily_dims WHERE app_id = 'a1' AND date = '2026-11-02' AND dim = ''")).toBeNull();
    expect(rowsWaiting(db).map((p) => p.waiting)).toEqual([0, 0]);
  });

  it('adds what arrived since; a run with nothing new writes nothing', async () => {
    insertEvents(db, sample);
    await rollup({ db, reader, now: at(NOW) });
    insertEvents(db, [
      { app: 'a1', device: 1n, type: 'open', ts: T('2026-11-02T12:00:00Z'), mosisVersion: '1.4.2' },
      { app: 'a1', device: 3n, type: 'open', ts: T('2026-11-02T12:00:01Z') },
    ]);
    expect(rowsWaiting(db).map((p) => p.waiting)).toEqual([0, 2]);
    expect(await rollup({ db, reader, now: at(NOW) })).toMatchObject({ steps: 1, rows: 2 });
    expect(dailyAggregates(db)).toEqual(groupByFromScratch(db));
    expect(dims()).toContainEqual({ app_id: 'a1', date: '2026-11-02', dim: '', value: '', count: 5, devices: 3 });
    expect(dims()).toContainEqual({ app_id: 'a1', date: '2026-11-02', dim: 'mosis_version', value: '1.4.2', count: 3, devices: 1 });
    const once = [dailyAggregates(db), dims()];
    expect(await rollup({ db, reader, now: at(NOW) })).toMatchObject({ steps: 0, rows: 0, closedDays: 0 });
    expect([dailyAggregates(db), dims()]).toEqual(once);
  });

  it('closes a day when the clock passes it: device rows become sketches, numbers unchanged', async () => {
    insertEvents(db, sample);
    await rollup({ db, reader, now: at(NOW) });
    const before = [dailyAggregates(db), dims()];
    expect(await rollup({ db, reader, now: at(NOW + DAY) })).toMatchObject({ steps: 0, closedDays: 1 });
    expect(await rollup({ db, reader, now: at(NOW + 2 * DAY) })).toMatchObject({ steps: 0, closedDays: 1 });
    expect(deviceRows()).toBe(0);
    expect([dailyAggregates(db), dims()]).toEqual(before);
    const day = sketchOf("SELECT sketch FROM telemetry_daily_dims WHERE app_id = 'a1' AND date = '2026-11-02' AND dim = ''");
    expect(day?.count()).toBe(2);
    const clicks = sketchOf("SELECT sketch FROM telemetry_daily WHERE app_id = 'a1' AND date = '2026-11-02' AND event_type = 'click'");
    expect(clicks?.count()).toBe(1);
  });

  it('a late event for a closed day merges into its sketches: a new device counts, a known one does not', async () => {
    insertEvents(db, sample);
    await rollup({ db, reader, now: at(NOW + 2 * DAY) });
    expect(deviceRows()).toBe(0);
    insertEvents(db, [
      { app: 'a1', device: 2n, type: 'open', ts: T('2026-11-02T20:00:00Z'), mosisVersion: '1.4.2' },
      { app: 'a1', device: 9n, type: 'open', ts: T('2026-11-02T21:00:00Z'), mosisVersion: '9.9' },
    ]);
    await rollup({ db, reader, now: at(NOW + 2 * DAY) });
    expect(deviceRows()).toBe(0);
    expect(dailyAggregates(db)).toEqual(groupByFromScratch(db));
    expect(dims()).toContainEqual({ app_id: 'a1', date: '2026-11-02', dim: '', value: '', count: 5, devices: 3 });
    expect(dims()).toContainEqual({ app_id: 'a1', date: '2026-11-02', dim: 'mosis_version', value: '1.4.2', count: 3, devices: 2 });
    expect(dims()).toContainEqual({ app_id: 'a1', date: '2026-11-02', dim: 'mosis_version', value: '9.9', count: 1, devices: 1 });
    expect(sketchOf("SELECT sketch FROM telemetry_daily_dims WHERE app_id = 'a1' AND date = '2026-11-02' AND dim = ''")?.count()).toBe(3);
    expect(sketchOf("SELECT sketch FROM telemetry_daily_dims WHERE app_id = 'a1' AND date = '2026-11-02' AND value = '9.9'")?.count()).toBe(1);
  });

  it('folds a partition up to its last id when the run reached it; rows stored during that wait for the next run', async () => {
    insertEvents(db, sample.slice(0, 4));
    let raced = false;
    const racing: SnapshotReader = {
      async read(q) {
        const snapshot = await reader.read(q);
        if (!raced) insertEvents(db, [{ app: 'a1', device: 7n, type: 'open', ts: T('2026-11-02T11:00:00Z') }]);
        raced = true;
        return snapshot;
      },
      checkpoint: () => reader.checkpoint(),
      close: async () => {},
    };
    expect(await rollup({ db, reader: racing, now: at(NOW) })).toMatchObject({ rows: 4 });
    expect(rowsWaiting(db).reduce((s, p) => s + p.waiting, 0)).toBe(1);
    expect(await rollup({ db, reader, now: at(NOW) })).toMatchObject({ rows: 1 });
    expect(dailyAggregates(db)).toEqual(groupByFromScratch(db));
  });

  it('passes over rows of days before the retention watermark: those aggregates are final', async () => {
    insertEvents(db, sample);
    db.prepare("INSERT INTO retention_watermark (kind, kept_from) VALUES ('events', '2026-11-01')").run();
    expect(await rollup({ db, reader, now: at(NOW) })).toMatchObject({ rows: 4, skippedRows: 1 });
    expect(dailyAggregates(db).map((r) => r.date)).not.toContain('2026-10-31');
    expect(rowsWaiting(db).map((p) => p.waiting)).toEqual([0, 0]);
  });

  it('steps through a big backlog in transactions of ROLLUP_STEP_ROWS rows, through the writer’s gate', async () => {
    const rows = Array.from({ length: 3_500 }, (_, i): RawEvent => ({ app: `a${i % 3}`, device: BigInt(i % 97), type: `t${i % 4}`, ts: NOW - (i % 5) * DAY - i * 1000 }));
    insertEvents(db, rows);
    const perPartition = rowsWaiting(db).map((p) => p.waiting);
    expect(perPartition.reduce((a, b) => a + b, 0)).toBe(3_500);
    let slots = 0;
    const gate: WriteGate = async (fn) => (slots++, fn());
    const stats = await rollup({ db, reader, now: at(NOW), exclusive: gate });
    expect(stats.steps).toBe(perPartition.reduce((sum, rows) => sum + Math.ceil(rows / 1_000), 0));
    expect(slots).toBeGreaterThan(1);
    expect(stats.rows).toBe(3_500);
    expect(dailyAggregates(db)).toEqual(groupByFromScratch(db));
  });

  it('the inline reader, the worker reader and a throttled one agree', async () => {
    const rows = Array.from({ length: 400 }, (_, i): RawEvent => ({ app: `a${i % 3}`, device: BigInt(i % 17), type: `t${i % 4}`, ts: NOW - i * 3_600_000, mosisVersion: `v${i % 2}` }));
    insertEvents(db, rows);
    const results = [];
    for (const r of [createInlineReader(db), reader, createWorkerReader(db.name, { pauseRatio: 1 })]) {
      db.exec('DELETE FROM telemetry_daily; DELETE FROM telemetry_daily_dims; DELETE FROM device_days; DELETE FROM rollup_positions');
      await rollup({ db, reader: r, now: at(NOW) });
      results.push([dailyAggregates(db), dims()]);
      if (r !== reader) await r.close();
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    expect(results[0]![0]).toEqual(groupByFromScratch(db));
  });
});

describe('a failure between the snapshot and the commit', () => {
  const rows = Array.from({ length: 2_500 }, (_, i): RawEvent => ({ app: 'a1', device: BigInt(i % 50), type: 'open', ts: NOW - i * 1000 }));

  it('a write that fails inside its transaction leaves nothing: the next run redoes the step, nothing counts twice', async () => {
    insertEvents(db, rows);
    // The second step's write fails after adding its counts (the position update is its last statement).
    db.exec(`CREATE TABLE fail_once (n INTEGER); INSERT INTO fail_once VALUES (0);
      CREATE TRIGGER fail_second_step BEFORE UPDATE ON rollup_positions WHEN (SELECT n FROM fail_once) = 0
      BEGIN SELECT RAISE(ABORT, 'injected failure'); END;`);
    await expect(rollup({ db, reader, now: at(NOW) })).rejects.toThrow(/injected failure/);
    // The first step committed alone, or in one slot with the second and rolled back with it: either way
    // the aggregates hold exactly the rows up to the position.
    const [at1] = positions() as { last_id: number }[];
    expect([0, 1_000]).toContain(at1?.last_id ?? 0);
    expect(dailyAggregates(db)[0]?.count ?? 0).toBe(at1?.last_id ?? 0);
    db.exec('UPDATE fail_once SET n = 1');
    await rollup({ db, reader, now: at(NOW) });
    expect(dailyAggregates(db)).toEqual(groupByFromScratch(db));
    expect(dims()).toEqual([{ app_id: 'a1', date: '2026-11-02', dim: '', value: '', count: 2_500, devices: 50 }, expect.anything(), expect.anything()]);
  });

  it('a run that dies after a commit finds that step done', async () => {
    insertEvents(db, rows);
    // The process "dies" right after the first slot committed: the run fails there.
    const dying: WriteGate = async (fn) => {
      fn();
      throw new Error('killed after commit');
    };
    await expect(rollup({ db, reader, now: at(NOW), exclusive: dying })).rejects.toThrow(/killed/);
    const folded = dailyAggregates(db)[0]!.count;
    expect(folded).toBeGreaterThanOrEqual(1_000);
    expect(positions()).toEqual([{ name: 'telemetry_events_2026_11', last_id: folded }]);
    expect(await rollup({ db, reader, now: at(NOW) })).toMatchObject({ rows: 2_500 - folded });
    expect(dailyAggregates(db)).toEqual(groupByFromScratch(db));
    expect(dims()[0]).toEqual({ app_id: 'a1', date: '2026-11-02', dim: '', value: '', count: 2_500, devices: 50 });
  });

  it('refuses a write whose position moved (another rollup ran): nothing of it is written', async () => {
    insertEvents(db, rows.slice(0, 10));
    const meddling: SnapshotReader = {
      async read(q) {
        const snapshot = await reader.read(q);
        db.prepare("INSERT INTO rollup_positions (name, last_id) VALUES ('telemetry_events_2026_11', 3)").run();
        return snapshot;
      },
      checkpoint: () => reader.checkpoint(),
      close: async () => {},
    };
    await expect(rollup({ db, reader: meddling, now: at(NOW) })).rejects.toThrow(/is at 3, not 0/);
    expect(dailyAggregates(db)).toEqual([]);
  });
});

describe('rebuild of a range', () => {
  it('repairs a damaged aggregate, clears an emptied day, and rebuilds device rows and sketches', async () => {
    insertEvents(db, [
      { app: 'a1', device: 1n, type: 'open', ts: T('2026-10-20T10:00:00Z'), mosisVersion: '1' },
      { app: 'a1', device: 2n, type: 'open', ts: T('2026-10-20T11:00:00Z') },
      { app: 'a1', device: 1n, type: 'open', ts: T('2026-11-02T10:00:00Z') },
    ]);
    await rollup({ db, reader, now: at(NOW) });
    const good = [dailyAggregates(db), dims()];
    db.prepare("UPDATE telemetry_daily SET count = 99, sketch = NULL WHERE date = '2026-10-20'").run();
    db.prepare("UPDATE telemetry_daily_dims SET devices = 7 WHERE date = '2026-11-02'").run();
    db.prepare("INSERT INTO telemetry_daily VALUES ('a1', '2026-10-25', 'ghost', 1, 1, NULL)").run();
    db.exec('DELETE FROM device_days');
    const stats = await rebuildRange({ db, reader, now: at(NOW), from: '2026-10-15', to: '2026-11-30' });
    expect(stats).toMatchObject({ rows: 3, skippedDays: 0, aborted: false });
    expect([dailyAggregates(db), dims()]).toEqual(good);
    expect(sketchOf("SELECT sketch FROM telemetry_daily WHERE date = '2026-10-20'")?.count()).toBe(2);
    expect(db.prepare('SELECT day, device FROM device_days WHERE dim = 0').all()).toEqual([{ day: T('2026-11-02') / DAY, device: 1 }]);
    // The incremental rollup carries on from its positions.
    insertEvents(db, [{ app: 'a1', device: 5n, type: 'open', ts: T('2026-11-02T11:00:00Z') }]);
    await rollup({ db, reader, now: at(NOW) });
    expect(dailyAggregates(db)).toEqual(groupByFromScratch(db));
  });

  it('counts only rows up to the rollup position: later ones are the incremental rollup’s', async () => {
    insertEvents(db, [{ app: 'a1', device: 1n, type: 'open', ts: T('2026-11-02T10:00:00Z') }]);
    await rollup({ db, reader, now: at(NOW) });
    insertEvents(db, [{ app: 'a1', device: 2n, type: 'open', ts: T('2026-11-02T11:00:00Z') }]);
    await rebuildRange({ db, reader, now: at(NOW), from: '2026-11-02', to: '2026-11-02' });
    expect(dailyAggregates(db)).toEqual([{ app_id: 'a1', date: '2026-11-02', event_type: 'open', count: 1, unique_devices: 1 }]);
    await rollup({ db, reader, now: at(NOW) });
    expect(dailyAggregates(db)).toEqual(groupByFromScratch(db));
  });

  it('never wipes the aggregates of a day whose partition is gone, or that is before the watermark', async () => {
    insertEvents(db, [
      { app: 'a1', device: 1n, type: 'open', ts: T('2026-08-01T10:00:00Z') },
      { app: 'a1', device: 1n, type: 'open', ts: T('2026-09-01T10:00:00Z') },
    ]);
    await rollup({ db, reader, now: at(NOW) });
    const before = dailyAggregates(db);
    dropPartition(db, 'telemetry_events_2026_08');
    db.exec('DELETE FROM telemetry_events_2026_09');
    db.prepare("INSERT INTO retention_watermark (kind, kept_from) VALUES ('events', '2026-09-02')").run();
    expect(await rebuildRange({ db, reader, now: at(NOW), from: '2026-08-01', to: '2026-09-01' })).toMatchObject({ days: 0, skippedDays: 1 });
    expect(dailyAggregates(db)).toEqual(before);
  });
});

describe('rollup of crashes', () => {
  const crashRows = () => db.prepare('SELECT * FROM crash_daily ORDER BY date, fingerprint').all() as Record<string, unknown>[];

  it('aggregates per day and fingerprint: count, distinct devices, first/last seen, versions, the first stored sample', async () => {
    const many = Array.from({ length: 1_500 }, (_, i) => ({ app: 'a1', device: BigInt(1000 + (i % 50)), ts: T('2026-11-01T10:00:00Z') + i, fingerprint: 'fp-segv', appVersion: i % 2 ? '1.1.0' : '1.0.0', message: i ? 'later' : 'first' }));
    insertCrashes(db, many.slice(0, 700));
    // Several runs and steps: the sample stays the first stored crash, versions and devices merge.
    await rollup({ db, reader, now: at(NOW) });
    insertCrashes(db, [...many.slice(700), { app: 'a1', device: 1n, ts: T('2026-11-01T13:00:00Z'), fingerprint: 'fp-abort', crashType: 'managed_exception', message: 'NPE', appVersion: '0.9' }]);
    await rollup({ db, reader, now: at(NOW) });
    expect(crashRows()).toEqual([
      { app_id: 'a1', date: '2026-11-01', fingerprint: 'fp-abort', crash_type: 'managed_exception', message: 'NPE', count: 1, devices: 1, first_seen: T('2026-11-01T13:00:00Z'), last_seen: T('2026-11-01T13:00:00Z'), app_versions: '["0.9"]' },
      { app_id: 'a1', date: '2026-11-01', fingerprint: 'fp-segv', crash_type: 'native_signal', message: 'first', count: 1_500, devices: 50, first_seen: T('2026-11-01T10:00:00Z'), last_seen: T('2026-11-01T10:00:00Z') + 1_499, app_versions: '["1.0.0","1.1.0"]' },
    ]);
    expect(db.prepare("SELECT count(*) AS n FROM crash_daily_devices WHERE fingerprint = 'fp-segv'").get()).toEqual({ n: 50 });
    const rebuilt = crashRows();
    await rebuildRange({ db, reader, now: at(NOW), from: '2026-11-01', to: '2026-11-01' });
    expect(crashRows()).toEqual(rebuilt);
  });

  it('keeps exact 64-bit device ids (distinct over several days counts a device once)', async () => {
    const big = 2n ** 63n - 1n;
    insertCrashes(db, [
      { app: 'a1', device: big, ts: T('2026-11-01T10:00:00Z'), fingerprint: 'fp' },
      { app: 'a1', device: -big - 1n, ts: T('2026-11-01T10:00:00Z'), fingerprint: 'fp' },
      { app: 'a1', device: big, ts: T('2026-11-02T10:00:00Z'), fingerprint: 'fp' },
    ]);
    await rollup({ db, reader, now: at(NOW) });
    expect(db.prepare("SELECT count(DISTINCT device_id) AS n FROM crash_daily_devices WHERE app_id = 'a1' AND fingerprint = 'fp'").get()).toEqual({ n: 2 });
    const ids = db.prepare('SELECT device_id FROM crash_daily_devices ORDER BY date, device_id').safeIntegers(true).all() as { device_id: bigint }[];
    expect(ids.map((r) => r.device_id)).toEqual([-big - 1n, big, big]);
  });
});

describe('positions', () => {
  it('a partition dropped and made again starts from 0', async () => {
    insertEvents(db, [{ app: 'a1', device: 1n, type: 'open', ts: T('2026-10-20T10:00:00Z') }, { app: 'a1', device: 2n, type: 'open', ts: T('2026-10-20T11:00:00Z') }]);
    await rollup({ db, reader, now: at(NOW) });
    dropPartition(db, 'telemetry_events_2026_10');
    insertEvents(db, [{ app: 'a1', device: 3n, type: 'open', ts: T('2026-10-21T10:00:00Z') }]);
    await rollup({ db, reader, now: at(NOW) });
    expect(dailyAggregates(db).map((r) => [r.date, r.count])).toEqual([
      ['2026-10-20', 2],
      ['2026-10-21', 1],
    ]);
  });
});
