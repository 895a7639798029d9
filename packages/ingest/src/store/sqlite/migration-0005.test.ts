import { createMigrator, DATABASES, migrateDown, migrateUp, openDatabase, tempDir, type DB } from '@mosis/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { rebuildViews } from './partitions.js';
import { partitionName } from '../partitions.js';

const dir = tempDir();
afterAll(() => dir.cleanup());
const opts = DATABASES.telemetry.migrations;
const MIGRATION = '0005_event_columns';

/** An event partition as the code before 0005 created it (a snapshot of store/sqlite/partitions.ts at 0004). */
function oldEventPartition(db: DB, month: string): string {
  const t = partitionName('events', month);
  db.exec(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, app_id INTEGER NOT NULL, device_id INTEGER NOT NULL, event_type INTEGER NOT NULL,
      timestamp INTEGER NOT NULL, event_id BLOB, mosis_version TEXT, event_data TEXT);
    CREATE UNIQUE INDEX ${t}_app_day ON ${t}(app_id, timestamp / 86400000, device_id, event_id);`);
  db.prepare("INSERT INTO telemetry_partitions (name, kind, month) VALUES (?, 'events', ?)").run(t, month);
  return t;
}

const columns = (db: DB, table: string) => (db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[]).map((c) => c.name);
const view = (db: DB) => db.prepare('SELECT * FROM telemetry_events ORDER BY timestamp, id').all();

describe(`migration ${MIGRATION}`, () => {
  it('adds app_version and received_at to existing event partitions, the view shows them as ingest builds it, and goes back', async () => {
    const db = openDatabase(`${dir.path}/telemetry.db`);
    try {
      await (await createMigrator(db, opts)).up({ to: '0004_event_types_crash_scope' });
      const oct = oldEventPartition(db, '2026-10');
      const nov = oldEventPartition(db, '2026-11');
      db.exec(`INSERT INTO dim_apps (id, app_id, package_id) VALUES (1, 'app-a', 'com.a');
        INSERT INTO dim_event_types (id, name) VALUES (1, 'open');
        INSERT INTO ${oct} (app_id, device_id, event_type, timestamp, event_data) VALUES (1, -7, 1, ${Date.parse('2026-10-31T23:00:00Z')}, '{"a":1}');
        INSERT INTO ${nov} (app_id, device_id, event_type, timestamp) VALUES (1, 8, 1, ${Date.parse('2026-11-01T01:00:00Z')});`);

      await migrateUp(db, opts);
      for (const t of [oct, nov]) expect(columns(db, t).slice(-2)).toEqual(['app_version', 'received_at']);
      // Rows stored before read NULL; a row stored now has both.
      db.prepare(`INSERT INTO ${nov} (app_id, device_id, event_type, timestamp, app_version, received_at) VALUES (1, 9, 1, ?, '1.2.0', ?)`).run(
        Date.parse('2026-11-02T00:00:00Z'),
        Date.parse('2026-11-02T00:00:01.250Z'),
      );
      const migrated = view(db);
      expect(migrated.map((r: any) => [r.device_id, r.app_version, r.received_at])).toEqual([
        ['fffffffffffffff9', null, null],
        ['0000000000000008', null, null],
        ['0000000000000009', '1.2.0', '2026-11-02T00:00:01.250Z'],
      ]);
      // The view the migration built reads exactly as the one ingest builds over the same partitions.
      rebuildViews(db);
      expect(view(db)).toEqual(migrated);

      await migrateDown(db, opts, MIGRATION);
      for (const t of [oct, nov]) expect(columns(db, t)).not.toContain('app_version');
      expect(Object.keys(view(db)[0] as object)).not.toContain('received_at');
      expect(view(db)).toHaveLength(3);
      await migrateUp(db, opts);
      expect(columns(db, nov).slice(-2)).toEqual(['app_version', 'received_at']);
    } finally {
      db.close();
    }
  });

  it('with no partition yet, leaves a view with the new columns, as ingest builds it', async () => {
    const db = openDatabase(`${dir.path}/empty.db`);
    try {
      await (await createMigrator(db, opts)).up({ to: '0004_event_types_crash_scope' });
      rebuildViews(db); // the views of 0004-era code: not needed, but as a real database has them
      await migrateUp(db, opts);
      const migrated = columns(db, 'telemetry_events');
      expect(migrated).toEqual(expect.arrayContaining(['app_version', 'received_at']));
      rebuildViews(db);
      expect(columns(db, 'telemetry_events')).toEqual(migrated);
    } finally {
      db.close();
    }
  });
});
