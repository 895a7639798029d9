import type { DB } from '@mosis/shared';
import { PARTITION_PARENT, partitionName, type PartitionInfo, type PartitionKind } from '../partitions.js';

/** DDL of one partition; `{t}` is the table name. Integer columns keep a row small (see the migration). */
const PARTITION_DDL: Record<PartitionKind, string> = {
  events: `
    -- AUTOINCREMENT: an id is never handed out twice, even after retention deleted the largest one, so
    -- "rows after id N" (the rollup's position) never misses a row. Partitions made before it keep
    -- their largest row until dropped whole instead (store/sqlite/retention.ts).
    CREATE TABLE {t} (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      app_id INTEGER NOT NULL,          -- dim_apps.id
      device_id INTEGER NOT NULL,       -- first 64 bits of HMAC-SHA256(secret, raw device id)
      event_type INTEGER NOT NULL,      -- dim_event_types.id
      timestamp INTEGER NOT NULL,       -- Unix ms, UTC, after sent_at correction
      event_id BLOB,                    -- 16-byte UUID, for idempotent retries
      mosis_version TEXT,
      event_data TEXT,                  -- JSON object; NULL when empty
      app_version TEXT,                 -- as the device sent it (migration 0005; NULL when not sent)
      received_at INTEGER               -- Unix ms, server clock of the commit that stored the row (0005)
    );
    -- One index for both readers and idempotency: (app, UTC day number, device, event_id).
    -- * Rollup and retention scan an app's day as a prefix. Queries must name the expression exactly:
    --   WHERE app_id = ? AND timestamp / 86400000 BETWEEN ? AND ?
    -- * A retry comes from the same device for the same app, so the key finds it within its day; the
    --   writer also looks in the neighbouring days (a retry's corrected timestamp may cross midnight).
    --   Events without event_id (NULL) never conflict.
    -- * Inserts stay local: one request's rows (one device) share one or two leaf pages, where an index on
    --   event_id or (app_id, timestamp) dirtied a page per row under devices' minute-wide timestamp spread.
    -- Measured with better-sqlite3, 1000-row transactions, on the shared 2-core box: indexes on event_id
    -- and (app_id, timestamp) 11k rows/s; (device_id, event_id) + (app_id, day) 59k and 126 bytes/event;
    -- this one index 72k and 117 bytes/event.
    CREATE UNIQUE INDEX {t}_app_day ON {t}(app_id, timestamp / 86400000, device_id, event_id);`,
  crashes: `
    CREATE TABLE {t} (
      id INTEGER PRIMARY KEY AUTOINCREMENT, -- as in telemetry_events
      app_id INTEGER NOT NULL,          -- dim_apps.id
      device_id INTEGER NOT NULL,       -- as in telemetry_events
      timestamp INTEGER NOT NULL,       -- Unix ms, UTC, after sent_at correction
      crash_id BLOB,                    -- 16-byte UUID, for idempotent retries
      fingerprint TEXT NOT NULL,        -- hex hash of crash_type + normalized top frames
      crash_type TEXT NOT NULL,
      app_version TEXT NOT NULL,
      message TEXT,
      stack_trace TEXT,
      context TEXT,                     -- JSON object
      mosis_version TEXT,
      created_at INTEGER NOT NULL       -- Unix ms, server clock
    );
    -- Idempotency per (app, device), as for events: one app's crash never hides another's. Migration 0004
    -- rebuilt the partitions made before it the same way (shared/databases.ts).
    CREATE UNIQUE INDEX {t}_crash_id ON {t}(app_id, device_id, crash_id) WHERE crash_id IS NOT NULL;
    CREATE INDEX {t}_app_time ON {t}(app_id, timestamp);
    CREATE INDEX {t}_app_fingerprint ON {t}(app_id, fingerprint, timestamp);`,
};

/** The readable columns of each view, selected from one partition `p` (dimension joins a and t). */
const VIEW_SELECT: Record<PartitionKind, string> = {
  events: `SELECT p.id, a.app_id, printf('%016x', p.device_id) AS device_id, t.name AS event_type,
      p.event_data, p.mosis_version, p.app_version, strftime('%Y-%m-%dT%H:%M:%fZ', p.timestamp / 1000.0, 'unixepoch') AS timestamp,
      strftime('%Y-%m-%dT%H:%M:%fZ', p.received_at / 1000.0, 'unixepoch') AS received_at, p.event_id
    FROM {t} p JOIN dim_apps a ON a.id = p.app_id JOIN dim_event_types t ON t.id = p.event_type`,
  crashes: `SELECT p.id, a.app_id, p.app_version, printf('%016x', p.device_id) AS device_id, p.crash_type,
      p.message, p.stack_trace, p.context, p.mosis_version,
      strftime('%Y-%m-%dT%H:%M:%fZ', p.timestamp / 1000.0, 'unixepoch') AS timestamp,
      strftime('%Y-%m-%dT%H:%M:%fZ', p.created_at / 1000.0, 'unixepoch') AS created_at, p.fingerprint, p.crash_id
    FROM {t} p JOIN dim_apps a ON a.id = p.app_id`,
};

/** Partitions of one kind (or all), oldest month first. */
export function listPartitions(db: DB, kind?: PartitionKind): PartitionInfo[] {
  const rows = db.prepare('SELECT name, kind, month FROM telemetry_partitions ORDER BY kind, month').all() as PartitionInfo[];
  return kind ? rows.filter((r) => r.kind === kind) : rows;
}

/** Recreates the `telemetry_events` and `crash_reports` views over the current partitions. */
export function rebuildViews(db: DB): void {
  for (const kind of ['events', 'crashes'] as const) {
    const view = PARTITION_PARENT[kind];
    const parts = listPartitions(db, kind).map((p) => VIEW_SELECT[kind].replaceAll('{t}', p.name));
    // With no partition yet, an empty select keeps the view (and its columns) there for operators.
    const empty = VIEW_SELECT[kind].replaceAll('{t}', `(SELECT * FROM (${PARTITION_DDL_COLUMNS[kind]}) WHERE 0)`);
    db.exec(`DROP VIEW IF EXISTS ${view}; CREATE VIEW ${view} AS ${(parts.length ? parts : [empty]).join('\nUNION ALL\n')};`);
  }
}

/** A zero-row select with a partition's columns, for the view over no partitions. */
const PARTITION_DDL_COLUMNS: Record<PartitionKind, string> = {
  events: `SELECT 0 AS id, 0 AS app_id, 0 AS device_id, 0 AS event_type, 0 AS timestamp, NULL AS event_id,
    NULL AS mosis_version, NULL AS event_data, NULL AS app_version, NULL AS received_at`,
  crashes: `SELECT 0 AS id, 0 AS app_id, 0 AS device_id, 0 AS timestamp, NULL AS crash_id, '' AS fingerprint,
    '' AS crash_type, '' AS app_version, NULL AS message, NULL AS stack_trace, NULL AS context,
    NULL AS mosis_version, 0 AS created_at`,
};

/**
 * Creates the partition for `month` if it does not exist (table, indexes, registry row, views) and returns
 * its name. Call inside the writer's transaction so a partition and its first rows commit together.
 */
export function ensurePartition(db: DB, kind: PartitionKind, month: string): string {
  const name = partitionName(kind, month);
  const known = db.prepare('SELECT 1 FROM telemetry_partitions WHERE name = ?').get(name);
  if (known) return name;
  db.exec(PARTITION_DDL[kind].replaceAll('{t}', name));
  db.prepare('INSERT INTO telemetry_partitions (name, kind, month) VALUES (?, ?, ?)').run(name, kind, month);
  rebuildViews(db);
  return name;
}

/** Drops a whole partition (retention), its registry row and rollup position, and rebuilds the views. */
export function dropPartition(db: DB, name: string): void {
  const row = db.prepare('SELECT name FROM telemetry_partitions WHERE name = ?').get(name) as { name: string } | undefined;
  if (!row) return;
  db.transaction(() => {
    db.prepare('DELETE FROM telemetry_partitions WHERE name = ?').run(name);
    // A partition made again under this name starts from id 1 (AUTOINCREMENT's counter goes with the table).
    db.prepare('DELETE FROM rollup_positions WHERE name = ?').run(name);
    rebuildViews(db);
    db.exec(`DROP TABLE IF EXISTS ${row.name}`);
  }).immediate();
}
