import { DATABASES, migrateDown, migrateUp, openDatabase, tempDir, type DB } from '@mosis/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPartition, ensurePartition, listPartitions, rebuildViews } from './partitions.js';
import { partitionName } from '../partitions.js';
import { dayOf, monthOf } from '../../days.js';

const dir = tempDir();
let db: DB;
beforeAll(async () => {
  db = openDatabase(`${dir.path}/telemetry.db`);
  await migrateUp(db, DATABASES.telemetry.migrations);
});
afterAll(() => {
  db.close();
  dir.cleanup();
});

describe('month partitions', () => {
  it('names partitions by UTC month', () => {
    const ms = Date.parse('2026-11-30T23:59:59.999Z');
    expect(monthOf(ms)).toBe('2026-11');
    expect(dayOf(ms)).toBe('2026-11-30');
    expect(monthOf(ms + 1)).toBe('2026-12');
    expect(partitionName('events', '2026-11')).toBe('telemetry_events_2026_11');
    expect(() => partitionName('events', '2026-11; DROP TABLE x')).toThrow();
  });

  it('the views exist and are empty before any partition', () => {
    rebuildViews(db);
    expect(db.prepare('SELECT count(*) AS n FROM telemetry_events').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT count(*) AS n FROM crash_reports').get()).toEqual({ n: 0 });
  });

  it('creates a partition once and shows its rows through the readable view', () => {
    const name = ensurePartition(db, 'events', '2026-11');
    expect(ensurePartition(db, 'events', '2026-11')).toBe(name);
    db.prepare("INSERT INTO dim_apps (id, app_id, package_id) VALUES (1, 'app-uuid', 'com.dev.app')").run();
    db.prepare("INSERT INTO dim_event_types (id, name) VALUES (1, 'app_open')").run();
    db.prepare(`INSERT INTO ${name} (app_id, device_id, event_type, timestamp, event_data) VALUES (1, -2, 1, ?, '{"a":1}')`).run(
      Date.parse('2026-11-28T10:00:00.000Z'),
    );
    expect(db.prepare('SELECT app_id, device_id, event_type, timestamp, event_data FROM telemetry_events').get()).toEqual({
      app_id: 'app-uuid',
      device_id: 'fffffffffffffffe',
      event_type: 'app_open',
      timestamp: '2026-11-28T10:00:00.000Z',
      event_data: '{"a":1}',
    });
    ensurePartition(db, 'crashes', '2026-10');
    expect(listPartitions(db).map((p) => p.name)).toEqual(['crash_reports_2026_10', 'telemetry_events_2026_11']);
  });

  it('drops a partition and its view branch', () => {
    ensurePartition(db, 'events', '2026-12');
    dropPartition(db, 'telemetry_events_2026_11');
    expect(listPartitions(db, 'events').map((p) => p.month)).toEqual(['2026-12']);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'telemetry_events_2026_11'").get()).toBeUndefined();
    expect(db.prepare('SELECT count(*) AS n FROM telemetry_events').get()).toEqual({ n: 0 });
  });

  it('migrating down removes every partition and view', async () => {
    await migrateDown(db, DATABASES.telemetry.migrations, 0);
    const left = db.prepare("SELECT name FROM sqlite_master WHERE name NOT IN ('schema_migrations', 'sqlite_sequence') AND name NOT LIKE 'sqlite_autoindex_schema%'").all();
    expect(left).toEqual([]);
    await migrateUp(db, DATABASES.telemetry.migrations);
  });
});
