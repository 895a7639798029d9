import { createMigrator, DATABASES, migrateDown, migrateUp, openDatabase, tempDir, type DB } from '@mosis/shared';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rollup } from './rollup.js';
import { createWorkerReader } from './snapshot-reader.js';
import { dailyAggregates, groupByFromScratch, insertCrashes, insertEvents, legacyPartition } from './testing.js';

/**
 * Upgrading a telemetry.db made by the dirty-day rollup (migration 0006): the days that still have raw rows
 * are rebuilt exactly by the first incremental run; earlier days keep their aggregates.
 */

const dir = tempDir();
afterAll(() => dir.cleanup());

const T = (iso: string) => Date.parse(iso);
const NOW = T('2026-11-20T12:00:00Z');
const MIGRATION = '0006_incremental_rollup';
let db: DB;
let n = 0;

beforeEach(async () => {
  db = openDatabase(`${dir.path}/u${n++}.db`);
  // As the previous release left it: migrated up to the one before, partitions without AUTOINCREMENT.
  const before = (await (await createMigrator(db, DATABASES.telemetry.migrations)).pending()).map((m) => m.name);
  await (await createMigrator(db, DATABASES.telemetry.migrations)).up({ to: before[before.indexOf(MIGRATION) - 1]! });
  for (const month of ['2026-10', '2026-11']) legacyPartition(db, 'events', month);
  legacyPartition(db, 'crashes', '2026-11');
  insertEvents(db, [
    { app: 'a1', device: 1n, type: 'open', ts: T('2026-10-05T10:00:00Z'), mosisVersion: '1.4' },
    { app: 'a1', device: 2n, type: 'open', ts: T('2026-10-06T10:00:00Z') },
    { app: 'a1', device: 2n, type: 'click', ts: T('2026-11-20T10:00:00Z'), appVersion: '3.1' },
    { app: 'a2', device: 3n, type: 'open', ts: T('2026-11-19T10:00:00Z') },
  ]);
  insertCrashes(db, [{ app: 'a1', device: 1n, ts: T('2026-11-19T10:00:00Z'), fingerprint: 'fp' }]);
  // What the old rollup had written: a day before raw retention (its rows are gone), a stale day in it.
  db.exec(`INSERT INTO retention_watermark (kind, kept_from) VALUES ('events', '2026-10-05'), ('crashes', '2026-10-05');
    INSERT INTO telemetry_daily VALUES ('a1', '2026-09-01', 'open', 10, 3), ('a1', '2026-10-05', 'open', 999, 9);
    INSERT INTO crash_daily VALUES ('a1', '2026-09-02', 'old', 'native_signal', NULL, 4, 2, 0, 0, '["1.0"]');
    INSERT INTO crash_daily_devices VALUES ('a1', '2026-09-02', 'old', 7), ('a1', '2026-09-02', 'old', 8);
    INSERT INTO rollup_dirty (kind, app_id, day) VALUES ('events', 1, '2026-11-20');`);
});
afterEach(() => db.close());

describe('migration 0006: from dirty days to positions', () => {
  it('sets every partition to 0 and keeps only the aggregates of days before raw retention', async () => {
    expect(await migrateUp(db, DATABASES.telemetry.migrations)).toContain(MIGRATION);
    expect(db.prepare('SELECT name, last_id FROM rollup_positions ORDER BY name').all()).toEqual([
      { name: 'crash_reports_2026_11', last_id: 0 },
      { name: 'telemetry_events_2026_10', last_id: 0 },
      { name: 'telemetry_events_2026_11', last_id: 0 },
    ]);
    expect(dailyAggregates(db)).toEqual([{ app_id: 'a1', date: '2026-09-01', event_type: 'open', count: 10, unique_devices: 3 }]);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'rollup_dirty'").get()).toBeUndefined();
  });

  it('the first run rebuilds the kept days exactly; the days before keep their old numbers', async () => {
    await migrateUp(db, DATABASES.telemetry.migrations);
    const reader = createWorkerReader(db.name);
    try {
      await rollup({ db, reader, now: () => NOW });
    } finally {
      await reader.close();
    }
    expect(dailyAggregates(db)).toEqual([{ app_id: 'a1', date: '2026-09-01', event_type: 'open', count: 10, unique_devices: 3 }, ...groupByFromScratch(db)]);
    expect(db.prepare("SELECT count, devices FROM telemetry_daily_dims WHERE app_id = 'a1' AND date = '2026-11-20' AND dim = 'app_version'").all()).toEqual([{ count: 1, devices: 1 }]);
    expect(db.prepare('SELECT date, fingerprint, count, devices FROM crash_daily ORDER BY date').all()).toEqual([
      { date: '2026-09-02', fingerprint: 'old', count: 4, devices: 2 },
      { date: '2026-11-19', fingerprint: 'fp', count: 1, devices: 1 },
    ]);
  });

  it('goes back down to dirty marks for every day that may have raw rows, and up again', async () => {
    await migrateUp(db, DATABASES.telemetry.migrations);
    await migrateDown(db, DATABASES.telemetry.migrations, MIGRATION);
    const marks = db.prepare('SELECT kind, count(*) AS n, min(day) AS lo, max(day) AS hi FROM rollup_dirty GROUP BY kind ORDER BY kind').all();
    // Two apps; events from the watermark to the end of November; crashes over November.
    expect(marks).toEqual([
      { kind: 'crashes', n: 2 * 30, lo: '2026-11-01', hi: '2026-11-30' },
      { kind: 'events', n: 2 * (27 + 30), lo: '2026-10-05', hi: '2026-11-30' },
    ]);
    expect(db.prepare("SELECT count(*) AS n FROM pragma_table_info('telemetry_daily') WHERE name = 'sketch'").get()).toEqual({ n: 0 });
    expect(await migrateUp(db, DATABASES.telemetry.migrations)).toContain(MIGRATION);
  });
});
