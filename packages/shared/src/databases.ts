import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DB } from './db.js';
import type { MigratorOptions } from './migrate.js';

/** The repository's `migrations/` folder (three levels above both `src/` and `dist/` of this package). */
export const MIGRATIONS_ROOT = fileURLToPath(new URL('../../../migrations', import.meta.url));

export type DatabaseName = 'portal' | 'telemetry';

/** The two databases of the contract: their file names in DATA_DIR and how to migrate them. */
export const DATABASES: Record<DatabaseName, { file: string; migrations: MigratorOptions }> = {
  portal: {
    file: 'portal.db',
    migrations: { dir: join(MIGRATIONS_ROOT, 'portal') },
  },
  telemetry: {
    file: 'telemetry.db',
    migrations: {
      dir: join(MIGRATIONS_ROOT, 'telemetry'),
      afterUp: { '0004_event_types_crash_scope': scopeCrashIdsAndListEventTypes },
      beforeDown: { '0001_telemetry_init': dropPartitions, '0004_event_types_crash_scope': unscopeCrashIds },
    },
  },
};

/** Path of a database file inside `dataDir`. */
export function databasePath(dataDir: string, name: DatabaseName): string {
  return join(dataDir, DATABASES[name].file);
}

/** The month partitions the registry lists, their names checked: identifiers cannot be bound as parameters. */
function partitions(db: DB): Array<{ name: string; kind: 'events' | 'crashes' }> {
  const registry = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'telemetry_partitions'").get();
  if (!registry) return [];
  const rows = db.prepare('SELECT name, kind FROM telemetry_partitions ORDER BY name').all() as Array<{ name: string; kind: 'events' | 'crashes' }>;
  for (const { name } of rows) {
    // Names come from our own registry and match a fixed pattern.
    if (!/^(telemetry_events|crash_reports)_\d{4}_\d{2}$/.test(name)) throw new Error(`unexpected partition name ${name}`);
  }
  return rows;
}

/**
 * Month partitions are created at run time, so no down file can name them: drop every table the
 * partition registry lists, and the `telemetry_events` / `crash_reports` views over them.
 */
function dropPartitions(db: DB): void {
  const parts = partitions(db);
  db.exec('DROP VIEW IF EXISTS telemetry_events; DROP VIEW IF EXISTS crash_reports;');
  for (const { name } of parts) db.exec(`DROP TABLE IF EXISTS "${name}"`);
}

/**
 * 0004, for the partitions that exist: list each app's event types from its raw rows (a scan of every event
 * partition, once), and key each crash partition's crash_id index by (app, device, crash_id), as
 * ingest's store/partitions.ts creates new ones, so one app's crash never hides another's.
 */
function scopeCrashIdsAndListEventTypes(db: DB): void {
  for (const { name, kind } of partitions(db)) {
    if (kind === 'events') {
      db.exec(`INSERT OR IGNORE INTO app_event_types (app_id, event_type) SELECT DISTINCT app_id, event_type FROM "${name}"`);
    } else {
      db.exec(`DROP INDEX IF EXISTS "${name}_crash_id";
        CREATE UNIQUE INDEX "${name}_crash_id" ON "${name}"(app_id, device_id, crash_id) WHERE crash_id IS NOT NULL;`);
    }
  }
}

/**
 * Undoes 0004's crash_id scope. The old index holds each crash_id once: a crash whose crash_id another
 * app's or device's crash already has keeps its row and loses its crash_id (its retries would count again).
 */
function unscopeCrashIds(db: DB): void {
  for (const { name, kind } of partitions(db)) {
    if (kind !== 'crashes') continue;
    db.exec(`UPDATE "${name}" SET crash_id = NULL WHERE crash_id IS NOT NULL
        AND id NOT IN (SELECT min(id) FROM "${name}" WHERE crash_id IS NOT NULL GROUP BY crash_id);
      DROP INDEX IF EXISTS "${name}_crash_id";
      CREATE UNIQUE INDEX "${name}_crash_id" ON "${name}"(crash_id) WHERE crash_id IS NOT NULL;`);
  }
}
