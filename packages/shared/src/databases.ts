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
      afterUp: { '0004_event_types_crash_scope': scopeCrashIdsAndListEventTypes, '0005_event_columns': addEventColumns },
      beforeDown: {
        '0001_telemetry_init': dropPartitions,
        '0004_event_types_crash_scope': unscopeCrashIds,
        '0005_event_columns': dropEventColumns,
      },
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
 * ingest's store/sqlite/partitions.ts creates new ones, so one app's crash never hides another's.
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

/** The columns 0005 gives every event partition. */
const EVENT_COLUMNS_0005 = [
  ['app_version', 'TEXT'],
  ['received_at', 'INTEGER'],
] as const;

function columnsOf(db: DB, table: string): Set<string> {
  return new Set((db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((c) => c.name));
}

/**
 * 0005, for the event partitions that exist: add app_version and received_at (ALTER TABLE ADD COLUMN changes
 * only the schema, whatever the partition's size), then rebuild the telemetry_events view to show them. A
 * partition that has them already (created by the current code before migrating) is left as it is.
 */
function addEventColumns(db: DB): void {
  const parts = partitions(db).filter((p) => p.kind === 'events');
  for (const { name } of parts) {
    const have = columnsOf(db, name);
    for (const [column, type] of EVENT_COLUMNS_0005) if (!have.has(column)) db.exec(`ALTER TABLE "${name}" ADD COLUMN ${column} ${type}`);
  }
  rebuildEventsView(db, parts.map((p) => p.name), true);
}

/** Undoes 0005: the view first (it names the columns), then the columns (each partition is rewritten). */
function dropEventColumns(db: DB): void {
  const parts = partitions(db).filter((p) => p.kind === 'events');
  db.exec('DROP VIEW IF EXISTS telemetry_events');
  for (const { name } of parts) {
    const have = columnsOf(db, name);
    for (const [column] of EVENT_COLUMNS_0005) if (have.has(column)) db.exec(`ALTER TABLE "${name}" DROP COLUMN ${column}`);
  }
  rebuildEventsView(db, parts.map((p) => p.name), false);
}

/**
 * The telemetry_events view over `parts` as ingest's store/sqlite/partitions.ts (rebuildViews) builds it, with the
 * 0005 columns or without: migration-0005.test.ts checks that a migrated database's view reads exactly as
 * the one ingest builds. (A migration is a snapshot of the schema at its time, like a .sql file.)
 */
function rebuildEventsView(db: DB, parts: string[], with0005: boolean): void {
  const select = (t: string) => `SELECT p.id, a.app_id, printf('%016x', p.device_id) AS device_id, t.name AS event_type,
      p.event_data, p.mosis_version,${with0005 ? ' p.app_version,' : ''} strftime('%Y-%m-%dT%H:%M:%fZ', p.timestamp / 1000.0, 'unixepoch') AS timestamp,${
        with0005 ? `\n      strftime('%Y-%m-%dT%H:%M:%fZ', p.received_at / 1000.0, 'unixepoch') AS received_at,` : ''
      } p.event_id
    FROM ${t} p JOIN dim_apps a ON a.id = p.app_id JOIN dim_event_types t ON t.id = p.event_type`;
  const empty = `(SELECT * FROM (SELECT 0 AS id, 0 AS app_id, 0 AS device_id, 0 AS event_type, 0 AS timestamp, NULL AS event_id,
    NULL AS mosis_version, NULL AS event_data${with0005 ? ', NULL AS app_version, NULL AS received_at' : ''}) WHERE 0)`;
  const selects = parts.length ? parts.map((name) => select(`"${name}"`)) : [select(empty)];
  db.exec(`DROP VIEW IF EXISTS telemetry_events; CREATE VIEW telemetry_events AS ${selects.join('\nUNION ALL\n')};`);
}
