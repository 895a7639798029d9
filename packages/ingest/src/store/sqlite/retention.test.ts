import { tempDir, type DB } from '@mosis/shared';
import { statSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listPartitions } from './partitions.js';
import { prune } from './retention.js';
import { retentionCutoffDay } from '../maintenance.js';
import { rollup, rowsWaiting } from './rollup.js';
import { createWorkerReader, type SnapshotReader } from './snapshot-reader.js';
import { dailyAggregates, groupByFromScratch, insertCrashes, insertEvents, legacyPartition, openMigratedTelemetry, type RawEvent } from './testing.js';

const dir = tempDir();
afterAll(() => dir.cleanup());

const DAY = 86_400_000;
const T = (iso: string) => Date.parse(iso);
/** The fake clock: "now" for every prune below. */
const NOW = T('2026-11-28T04:00:00Z');
const CUTOFF_MS = T('2026-08-30T00:00:00Z');

let db: DB;
let path: string;
let reader: SnapshotReader;
let n = 0;
beforeEach(async () => {
  path = `${dir.path}/r${n++}.db`;
  db = await openMigratedTelemetry(path);
  reader = createWorkerReader(path);
});
afterEach(async () => {
  await reader.close();
  db.close();
});

/** Events every 20 minutes from June to late November, two apps, with a payload that makes the file big. */
function fillSixMonths(): void {
  const payload = JSON.stringify({ pad: 'x'.repeat(400) });
  const rows: RawEvent[] = [];
  for (let ts = T('2026-06-01T00:00:00Z'); ts < NOW; ts += 20 * 60_000) {
    rows.push({ app: 'a1', device: BigInt(ts % 7), type: 'open', ts, data: payload });
    rows.push({ app: 'a2', device: BigInt(ts % 11), type: ts % 2 ? 'click' : 'open', ts: ts + 1, data: payload });
  }
  insertEvents(db, rows);
  insertCrashes(db, [
    { app: 'a1', device: 1n, ts: T('2026-07-10T10:00:00Z'), fingerprint: 'old', stackTrace: 'x'.repeat(5000) },
    { app: 'a1', device: 2n, ts: T('2026-11-10T10:00:00Z'), fingerprint: 'new' },
  ]);
}

const rawBefore = (ms: number) =>
  (db.prepare(`SELECT count(*) AS n FROM telemetry_events WHERE timestamp < ?`).get(new Date(ms).toISOString()) as { n: number }).n +
  (db.prepare(`SELECT count(*) AS n FROM crash_reports WHERE timestamp < ?`).get(new Date(ms).toISOString()) as { n: number }).n;

describe('retention', () => {
  it('computes the cutoff as whole UTC days', () => {
    expect(retentionCutoffDay(NOW, 90)).toBe('2026-08-30');
    expect(retentionCutoffDay(T('2026-11-28T23:59:59Z'), 90)).toBe('2026-08-30');
  });

  it('removes every raw row older than the retention, keeps every aggregate, and shrinks the file', async () => {
    fillSixMonths();
    await rollup({ db, reader, now: () => NOW });
    // A late event for an old day, not rolled up yet: prune must roll it up before deleting it.
    insertEvents(db, [{ app: 'a1', device: 999n, type: 'open', ts: T('2026-07-04T12:00:00Z') }]);
    const truth = groupByFromScratch(db);
    const crashTruth = db.prepare('SELECT count(*) AS n FROM crash_reports').get();
    db.pragma('wal_checkpoint(TRUNCATE)');
    const sizeBefore = statSync(path).size;

    // Small chunks: the June and July partitions are emptied in chunks before their drop, August trimmed in many.
    const result = await prune({ db, reader, retentionDays: 90, now: () => NOW, drainBeforeDropRows: 1_000, trimChunkRows: 700 });

    expect(result.cutoffDay).toBe('2026-08-30');
    expect(result.dropped.map((d) => d.name).sort()).toEqual(['crash_reports_2026_07', 'telemetry_events_2026_06', 'telemetry_events_2026_07']);
    expect(result.trimmed.map((t) => t.name)).toEqual(['telemetry_events_2026_08']);
    expect(result.trimmed[0]!.rows).toBe(29 * 72 * 2);
    expect(rawBefore(CUTOFF_MS)).toBe(0);
    expect(rawBefore(CUTOFF_MS + DAY)).toBeGreaterThan(0);
    // Every aggregate is unchanged, earlier days included (the late event counted).
    expect(dailyAggregates(db)).toEqual(truth);
    expect(truth.find((r) => r.app_id === 'a1' && r.date === '2026-07-04')).toMatchObject({ count: 73 });
    expect(db.prepare("SELECT fingerprint FROM crash_daily ORDER BY date").all()).toEqual([{ fingerprint: 'old' }, { fingerprint: 'new' }]);
    expect(crashTruth).toEqual({ n: 2 });
    // The writer's auto-checkpoint (off while prune checkpointed on the reader thread) is back.
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    // Freed pages went back to the filesystem.
    expect(result.vacuumedPages).toBeGreaterThan(0);
    expect(db.pragma('freelist_count', { simple: true })).toBe(0);
    db.pragma('wal_checkpoint(TRUNCATE)');
    expect(statSync(path).size).toBeLessThan(sizeBefore * 0.7);
    expect(db.prepare("SELECT kind, kept_from FROM retention_watermark ORDER BY kind").all()).toEqual([
      { kind: 'crashes', kept_from: '2026-08-30' },
      { kind: 'events', kept_from: '2026-08-30' },
    ]);
    // A second prune has nothing left to do.
    const again = await prune({ db, reader, retentionDays: 90, now: () => NOW });
    expect(again).toMatchObject({ dropped: [], trimmed: [{ name: 'telemetry_events_2026_08', rows: 0 }] });
  });

  it('a dry run reports what would go and changes nothing', async () => {
    fillSixMonths();
    const partitions = listPartitions(db);
    const result = await prune({ db, reader, retentionDays: 90, now: () => NOW, dryRun: true });
    expect(result.dryRun).toBe(true);
    expect(result.dropped).toEqual([
      { name: 'crash_reports_2026_07', rows: 1 },
      { name: 'telemetry_events_2026_06', rows: 30 * 72 * 2 },
      { name: 'telemetry_events_2026_07', rows: 31 * 72 * 2 },
    ]);
    expect(result.trimmed).toEqual([{ name: 'telemetry_events_2026_08', rows: 29 * 72 * 2 }]);
    expect(result.rolledUpFirst).toBeGreaterThan(0);
    expect(listPartitions(db)).toEqual(partitions);
    expect(dailyAggregates(db)).toEqual([]);
  });

  /** A gate that stores `rows` right after the first write it lets through (the watermark's move). */
  const storingAfterFirstWrite = (rows: RawEvent[]) => {
    let calls = 0;
    return async <T>(fn: () => T): Promise<T> => {
      const out = fn();
      if (++calls === 1) insertEvents(db, rows);
      return out;
    };
  };

  it('refuses to drop a partition with rows stored after its rollup', async () => {
    fillSixMonths();
    await rollup({ db, reader, now: () => NOW });
    const sneaky = storingAfterFirstWrite([{ app: 'a1', device: 5n, type: 'open', ts: T('2026-06-15T00:00:00Z') }]);
    await expect(prune({ db, reader, retentionDays: 90, now: () => NOW, exclusive: sneaky })).rejects.toThrow(/telemetry_events_2026_06 has rows not rolled up yet/);
    expect(listPartitions(db, 'events').map((p) => p.month)).toContain('2026-06');
  });

  it('a trim removes only rows the rollup has folded in; the next prune removes the rest', async () => {
    fillSixMonths();
    await rollup({ db, reader, now: () => NOW });
    const sneaky = storingAfterFirstWrite([{ app: 'a1', device: 5n, type: 'open', ts: T('2026-08-15T00:00:00Z') }]);
    const first = await prune({ db, reader, retentionDays: 90, now: () => NOW, exclusive: sneaky });
    expect(first.trimmed).toEqual([{ name: 'telemetry_events_2026_08', rows: 29 * 72 * 2 }]);
    expect(rawBefore(CUTOFF_MS)).toBe(1);
    expect(rowsWaiting(db).find((p) => p.name === 'telemetry_events_2026_08')?.waiting).toBe(1);
    const second = await prune({ db, reader, retentionDays: 90, now: () => NOW });
    expect(second.trimmed).toEqual([{ name: 'telemetry_events_2026_08', rows: 1 }]);
    expect(rawBefore(CUTOFF_MS)).toBe(0);
  });

  it('the rollup never counts again a day before the watermark (its aggregate is final)', async () => {
    insertEvents(db, [{ app: 'a1', device: 1n, type: 'open', ts: T('2026-08-29T10:00:00Z') }, { app: 'a1', device: 2n, type: 'open', ts: T('2026-08-29T11:00:00Z') }]);
    await prune({ db, reader, retentionDays: 90, now: () => NOW });
    expect(dailyAggregates(db)).toEqual([{ app_id: 'a1', date: '2026-08-29', event_type: 'open', count: 2, unique_devices: 2 }]);
    // Misconfigured ingest accepts a row for a pruned day: it is passed over, not counted.
    insertEvents(db, [{ app: 'a1', device: 3n, type: 'open', ts: T('2026-08-29T12:00:00Z') }]);
    const stats = await rollup({ db, reader, now: () => NOW });
    expect(stats.skippedRows).toBe(1);
    expect(dailyAggregates(db)).toEqual([{ app_id: 'a1', date: '2026-08-29', event_type: 'open', count: 2, unique_devices: 2 }]);
  });

  it('in a partition made before AUTOINCREMENT, keeps the row with the largest id until the month is dropped', async () => {
    // Made as before migration 0006: SQLite would hand out a deleted largest id again.
    legacyPartition(db, 'events', '2026-08');
    const aug31 = T('2026-08-31T10:00:00Z');
    insertEvents(db, [0, 1, 2].map((i) => ({ app: 'a1', device: BigInt(i), type: 'open', ts: aug31 + i })));
    // Late events for a day before the cutoff: the largest ids are rows the trim removes.
    insertEvents(db, [0, 1, 2].map((i) => ({ app: 'a1', device: BigInt(i), type: 'open', ts: T('2026-08-20T10:00:00Z') + i })));
    const result = await prune({ db, reader, retentionDays: 90, now: () => NOW });
    expect(result.trimmed).toEqual([{ name: 'telemetry_events_2026_08', rows: 2 }]);
    expect(db.prepare('SELECT id FROM telemetry_events_2026_08 ORDER BY id').pluck().all()).toEqual([1, 2, 3, 6]);
    // So the next row gets a new id, and the rollup folds it in.
    insertEvents(db, [{ app: 'a1', device: 9n, type: 'open', ts: aug31 + 10 }]);
    await rollup({ db, reader, now: () => NOW });
    expect(dailyAggregates(db).find((r) => r.date === '2026-08-31')).toEqual({ app_id: 'a1', date: '2026-08-31', event_type: 'open', count: 4, unique_devices: 4 });
    // A partition made now trims every row before the cutoff (ids are never handed out twice).
    insertEvents(db, [{ app: 'a1', device: 1n, type: 'open', ts: T('2026-09-10T10:00:00Z') }, { app: 'a1', device: 1n, type: 'open', ts: T('2026-09-01T10:00:00Z') }]);
    const later = await prune({ db, reader, retentionDays: 90, now: () => NOW + 10 * DAY });
    expect(later.dropped.map((d) => d.name)).toEqual(['telemetry_events_2026_08']);
    expect(later.trimmed).toEqual([{ name: 'telemetry_events_2026_09', rows: 1 }]);
  });
});
