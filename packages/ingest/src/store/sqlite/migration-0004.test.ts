import { createMigrator, DATABASES, migrateDown, migrateUp, openDatabase, tempDir } from '@mosis/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { ensurePartition } from './partitions.js';

const dir = tempDir();
afterAll(() => dir.cleanup());
const opts = DATABASES.telemetry.migrations;
const MIGRATION = '0004_event_types_crash_scope';

describe(`migration ${MIGRATION}`, () => {
  it('lists the event types of existing partitions and aggregates per app, re-keys existing crash partitions by (app, device), and goes back', async () => {
    const db = openDatabase(`${dir.path}/telemetry.db`);
    try {
      await (await createMigrator(db, opts)).up({ to: '0003_rollup_retention' });
      // Partitions as the code before 0004 made them: crash_id unique on its own.
      const events = ensurePartition(db, 'events', '2026-11');
      const crashes = ensurePartition(db, 'crashes', '2026-11');
      db.exec(`DROP INDEX ${crashes}_crash_id; CREATE UNIQUE INDEX ${crashes}_crash_id ON ${crashes}(crash_id) WHERE crash_id IS NOT NULL;`);
      db.exec(`INSERT INTO dim_apps (id, app_id, package_id) VALUES (1, 'app-a', 'com.a'), (2, 'app-b', 'com.b');
        INSERT INTO dim_event_types (id, name) VALUES (1, 'open'), (2, 'close'), (3, 'pruned_long_ago');
        INSERT INTO ${events} (app_id, device_id, event_type, timestamp) VALUES (1, 7, 1, 0), (1, 7, 2, 0), (1, 8, 2, 0), (2, 7, 1, 0);
        INSERT INTO telemetry_daily (app_id, date, event_type, count, unique_devices) VALUES ('app-b', '2026-01-01', 'pruned_long_ago', 5, 1);`);
      const crashId = Buffer.alloc(16, 1);
      const insertCrash = db.prepare(
        `INSERT INTO ${crashes} (app_id, device_id, timestamp, crash_id, fingerprint, crash_type, app_version, created_at) VALUES (?, 7, 0, ?, 'f', 't', '1', 0) ON CONFLICT DO NOTHING`,
      );
      insertCrash.run(1, crashId);
      expect(insertCrash.run(2, crashId).changes).toBe(0);

      await migrateUp(db, opts);
      expect(db.prepare('SELECT app_id, event_type FROM app_event_types ORDER BY 1, 2').raw().all()).toEqual([[1, 1], [1, 2], [2, 1], [2, 3]]);
      const indexColumns = () => (db.prepare(`PRAGMA index_info(${crashes}_crash_id)`).all() as Array<{ name: string }>).map((c) => c.name);
      expect(indexColumns()).toEqual(['app_id', 'device_id', 'crash_id']);
      // Another app's crash with that id is stored; the same app and device's retry is not.
      expect(insertCrash.run(2, crashId).changes).toBe(1);
      expect(insertCrash.run(1, crashId).changes).toBe(0);

      // Back: the old index holds each crash_id once, so the later copy keeps its row but not its id.
      await migrateDown(db, opts, MIGRATION);
      expect(indexColumns()).toEqual(['crash_id']);
      expect(db.prepare(`SELECT app_id, crash_id IS NOT NULL AS has_id FROM ${crashes} ORDER BY id`).all()).toEqual([
        { app_id: 1, has_id: 1 },
        { app_id: 2, has_id: 0 },
      ]);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'app_event_types'").get()).toBeUndefined();
    } finally {
      db.close();
    }
  });
});
