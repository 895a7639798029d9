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
      beforeDown: { '0001_telemetry_init': dropPartitions },
    },
  },
};

/** Path of a database file inside `dataDir`. */
export function databasePath(dataDir: string, name: DatabaseName): string {
  return join(dataDir, DATABASES[name].file);
}

/**
 * Month partitions are created at run time, so no down file can name them: drop every table the
 * partition registry lists, and the `telemetry_events` / `crash_reports` views over them.
 */
function dropPartitions(db: DB): void {
  const registry = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'telemetry_partitions'").get();
  if (!registry) return;
  db.exec('DROP VIEW IF EXISTS telemetry_events; DROP VIEW IF EXISTS crash_reports;');
  for (const { name } of db.prepare('SELECT name FROM telemetry_partitions').all() as { name: string }[]) {
    // Names come from our own registry and match a fixed pattern; identifiers cannot be bound as parameters.
    if (!/^(telemetry_events|crash_reports)_\d{4}_\d{2}$/.test(name)) throw new Error(`unexpected partition name ${name}`);
    db.exec(`DROP TABLE IF EXISTS "${name}"`);
  }
}
