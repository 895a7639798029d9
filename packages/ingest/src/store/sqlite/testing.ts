import { DATABASES, migrateUp, openDatabase, type DB } from '@mosis/shared';
import type { Statement } from 'better-sqlite3';
import { ensurePartition, rebuildViews } from './partitions.js';
import { monthOf } from '../../days.js';
import { hasAppVersion } from './aggregates.js';

/**
 * Test helpers of the jobs: a migrated telemetry.db, raw rows written the way the ingest writer writes
 * them (partition and rows in one transaction), and the from-scratch GROUP BY the aggregates must equal.
 */

export async function openMigratedTelemetry(path: string): Promise<DB> {
  const db = openDatabase(path);
  await migrateUp(db, DATABASES.telemetry.migrations);
  return db;
}

export interface RawEvent {
  app: string;
  device: bigint;
  type: string;
  ts: number;
  eventId?: Buffer;
  data?: string;
  mosisVersion?: string;
  appVersion?: string;
}

export interface RawCrash {
  app: string;
  device: bigint;
  ts: number;
  fingerprint: string;
  crashType?: string;
  message?: string;
  appVersion?: string;
  stackTrace?: string;
}

function dimApp(db: DB, app: string): number {
  return db
    .prepare(`INSERT INTO dim_apps (app_id, package_id) VALUES (?, ?) ON CONFLICT (app_id) DO UPDATE SET package_id = excluded.package_id RETURNING id`)
    .pluck()
    .get(app, `com.test.${app.replace(/[^a-z0-9]/gi, '')}`) as number;
}

function dimType(db: DB, name: string): number {
  return db.prepare('INSERT INTO dim_event_types (name) VALUES (?) ON CONFLICT (name) DO UPDATE SET name = name RETURNING id').pluck().get(name) as number;
}

/**
 * An event partition with the `app_version` column. Migration 0005 (the raw-reads branch) gives every
 * event partition this column; until it is merged, the tests add it so the rollup's app_version dimension
 * is exercised.
 */
export function eventPartition(db: DB, month: string): string {
  const part = ensurePartition(db, 'events', month);
  if (!hasAppVersion(db, part)) db.exec(`ALTER TABLE ${part} ADD COLUMN app_version TEXT`);
  return part;
}

/**
 * A partition as created before migration 0006 (no AUTOINCREMENT: SQLite may hand out a deleted largest id
 * again). Made like today's, then rewritten with that one word removed.
 */
export function legacyPartition(db: DB, kind: 'events' | 'crashes', month: string): string {
  const part = kind === 'events' ? eventPartition(db, month) : ensurePartition(db, kind, month);
  const ddl = db.prepare('SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type DESC').all(part) as { type: string; sql: string }[];
  db.transaction(() => {
    db.exec(`DROP TABLE ${part}`);
    for (const d of ddl) db.exec(d.type === 'table' ? d.sql.replace(/\s+AUTOINCREMENT/i, '') : d.sql);
    rebuildViews(db);
  })();
  return part;
}

/** Inserts events as one writer transaction; duplicates of an event_id are ignored like ingest does. Returns rows stored. */
export function insertEvents(db: DB, events: RawEvent[]): number {
  const apps = new Map<string, number>();
  const types = new Map<string, number>();
  const inserts = new Map<string, Statement>();
  return db.transaction(() => {
    let stored = 0;
    for (const e of events) {
      const part = eventPartition(db, monthOf(e.ts));
      let insert = inserts.get(part);
      if (!insert) {
        insert = db.prepare(
          `INSERT INTO ${part} (app_id, device_id, event_type, timestamp, event_id, event_data, mosis_version, app_version)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        );
        inserts.set(part, insert);
      }
      let app = apps.get(e.app);
      if (app === undefined) apps.set(e.app, (app = dimApp(db, e.app)));
      let type = types.get(e.type);
      if (type === undefined) types.set(e.type, (type = dimType(db, e.type)));
      const res = insert.run(app, BigInt.asIntN(64, e.device), type, e.ts, e.eventId ?? null, e.data ?? null, e.mosisVersion ?? null, e.appVersion ?? null);
      stored += res.changes;
    }
    return stored;
  }).immediate();
}

export function insertCrashes(db: DB, crashes: RawCrash[]): void {
  db.transaction(() => {
    for (const c of crashes) {
      const part = ensurePartition(db, 'crashes', monthOf(c.ts));
      const app = dimApp(db, c.app);
      db.prepare(
        `INSERT INTO ${part} (app_id, device_id, timestamp, fingerprint, crash_type, app_version, message, stack_trace, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(app, BigInt.asIntN(64, c.device), c.ts, c.fingerprint, c.crashType ?? 'native_signal', c.appVersion ?? '1.0.0', c.message ?? 'SIGSEGV', c.stackTrace ?? null, c.ts);
    }
  }).immediate();
}

export interface DailyRow {
  app_id: string;
  date: string;
  event_type: string;
  count: number;
  unique_devices: number;
}

/** The truth: a from-scratch GROUP BY over the readable view of every raw partition. */
export function groupByFromScratch(db: DB): DailyRow[] {
  return db
    .prepare(
      `SELECT app_id, substr(timestamp, 1, 10) AS date, event_type, count(*) AS count, count(DISTINCT device_id) AS unique_devices
       FROM telemetry_events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    )
    .all() as DailyRow[];
}

export function dailyAggregates(db: DB): DailyRow[] {
  return db.prepare('SELECT app_id, date, event_type, count, unique_devices FROM telemetry_daily ORDER BY 1, 2, 3').all() as DailyRow[];
}
