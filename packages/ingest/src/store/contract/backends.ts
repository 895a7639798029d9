import { DATABASES, databasePath, migrateUp, openDatabase, tempDir, type DB } from '@mosis/shared';
import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { rollup as sqliteRollup } from '../sqlite/rollup.js';
import { prune as sqlitePrune } from '../sqlite/retention.js';
import { createInlineReader } from '../sqlite/snapshot-reader.js';
import { listPartitions } from '../sqlite/partitions.js';
import { PgTelemetryMaintenance } from '../postgres/maintenance.js';
import { PgTelemetryWriter } from '../postgres/writer.js';
import { openPgPool, type PgPool } from '../postgres/pool.js';
import { createMigratedPgDatabase, describePg } from '../postgres/testing.js';
import { SqliteTelemetryStore } from '../sqlite/store.js';
import type { TelemetryWriter } from '../types.js';
import type { CrashRecord, EventRecord } from '../types.js';

/**
 * The store contract suite's backends: each test file runs its scenarios against every one (SQLite on a
 * temp telemetry.db, PostgreSQL on a fresh database of the run's server), through only what both share.
 */

export interface StoredEvent {
  app: string;
  device: bigint;
  type: string;
  ts: number;
  id: string | null;
}

export interface StoreHarness {
  /** A writer, as one ingest process has it; `writer(n)` for n > 0 is another process's (own connections). */
  writer(process?: number, opts?: { maxEventTypesPerApp?: number }): TelemetryWriter;
  /** Every stored event, sorted (app, ts, device, id). */
  events(): Promise<StoredEvent[]>;
  crashCount(): Promise<number>;
  /** Months with a partition, per kind. */
  partitions(kind: 'events' | 'crashes'): Promise<string[]>;
  /** Distinct event types registered for an app (app_event_types). */
  typeCount(app: string): Promise<number>;
  /** Every raw event and crash, with what the aggregates group by. */
  raw(): Promise<{ events: RawEventRow[]; crashes: RawCrashRow[] }>;
  /** Every aggregate row, normalized (sketches as hex), sorted. */
  aggregates(): Promise<Aggregates>;
  /** One rollup run at `now` (everything written so far is settled). */
  rollup(now: number): Promise<{ rows: number; closedDays: number }>;
  /** One retention run at `now`. */
  prune(now: number, retentionDays: number): Promise<{ cutoffDay: string; dropped: string[] }>;
  /** The retention watermark per kind. */
  watermark(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export interface RawEventRow {
  app: string;
  day: number;
  type: string;
  mv: string;
  av: string;
  device: bigint;
}
export interface RawCrashRow {
  app: string;
  day: number;
  fingerprint: string;
  device: bigint;
  ts: number;
  av: string;
  crashType: string;
  message: string | null;
  /** Storage order (the sample of a group is its first stored crash). */
  order: number;
}
export interface Aggregates {
  daily: string[];
  dims: string[];
  deviceDays: string[];
  crashDaily: string[];
  crashDevices: string[];
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** Whether the next month's partition exists before any row of it arrives. */
  createsAhead: boolean;
  /** Whether two writers can have transactions in flight at once (PostgreSQL) or take turns (SQLite). */
  concurrentWriters: boolean;
  open(opts?: { maxEventTypesPerApp?: number }): Promise<StoreHarness>;
}

const DEFAULT_MAX_TYPES = 1000;

/** An async face on the synchronous SQLite store (the worker-thread writer will be one natively). */
function sqliteWriter(db: DB, maxEventTypesPerApp: number): TelemetryWriter {
  const store = new SqliteTelemetryStore(db, { maxEventTypesPerApp });
  return {
    write: async (requests) => store.write(requests),
    invalidate: () => store.invalidate(),
    close: async () => {},
  };
}

const sqlite: Backend = {
  name: 'sqlite',
  createsAhead: false,
  concurrentWriters: false,
  async open(opts = {}) {
    const dir = tempDir('mosis-contract-');
    const path = databasePath(dir.path, 'telemetry');
    const main = openDatabase(path);
    await migrateUp(main, DATABASES.telemetry.migrations);
    const dbs: DB[] = [main];
    const writers = new Map<number, TelemetryWriter>();
    return {
      writer(process = 0, o = {}) {
        let w = writers.get(process);
        if (!w) {
          const db = process === 0 ? main : openDatabase(path);
          if (process !== 0) dbs.push(db);
          writers.set(process, (w = sqliteWriter(db, o.maxEventTypesPerApp ?? opts.maxEventTypesPerApp ?? DEFAULT_MAX_TYPES)));
        }
        return w;
      },
      async events() {
        const rows = main
          .prepare(
            `SELECT a.app_id AS app, p.device_id AS device, t.name AS type, p.timestamp AS ts, lower(hex(p.event_id)) AS id
             FROM (${listPartitions(main, 'events').map((x) => `SELECT * FROM ${x.name}`).join(' UNION ALL ') || 'SELECT 0 AS app_id, 0 AS device_id, 0 AS event_type, 0 AS timestamp, NULL AS event_id WHERE 0'}) p
             JOIN dim_apps a ON a.id = p.app_id JOIN dim_event_types t ON t.id = p.event_type`,
          )
          .safeIntegers(true)
          .all() as Array<{ app: string; device: bigint; type: string; ts: bigint; id: string | null }>;
        return sortEvents(rows.map((r) => ({ app: r.app, device: r.device, type: r.type, ts: Number(r.ts), id: r.id || null })));
      },
      async crashCount() {
        return (main.prepare('SELECT count(*) AS n FROM crash_reports').get() as { n: number }).n;
      },
      async partitions(kind) {
        return listPartitions(main, kind).map((p) => p.month);
      },
      async typeCount(app) {
        return (main.prepare('SELECT count(*) AS n FROM app_event_types x JOIN dim_apps a ON a.id = x.app_id WHERE a.app_id = ?').get(app) as { n: number }).n;
      },
      async raw() {
        const ev = listPartitions(main, 'events').map((x) => `SELECT * FROM ${x.name}`).join(' UNION ALL ');
        const events = ev
          ? (main
              .prepare(
                `SELECT a.app_id AS app, p.timestamp / 86400000 AS day, t.name AS type, coalesce(p.mosis_version, '') AS mv,
                   coalesce(p.app_version, '') AS av, p.device_id AS device
                 FROM (${ev}) p JOIN dim_apps a ON a.id = p.app_id JOIN dim_event_types t ON t.id = p.event_type`,
              )
              .safeIntegers(true)
              .all() as Array<Record<string, bigint | string>>).map((r) => ({ app: r.app as string, day: Number(r.day), type: r.type as string, mv: r.mv as string, av: r.av as string, device: r.device as bigint }))
          : [];
        const cr = listPartitions(main, 'crashes').map((x) => `SELECT * FROM ${x.name}`).join(' UNION ALL ');
        const crashes = cr
          ? (main
              .prepare(
                `SELECT a.app_id AS app, p.timestamp / 86400000 AS day, p.fingerprint, p.device_id AS device, p.timestamp AS ts,
                   p.app_version AS av, p.crash_type, p.message, p.id FROM (${cr}) p JOIN dim_apps a ON a.id = p.app_id`,
              )
              .safeIntegers(true)
              .all() as Array<Record<string, bigint | string | null>>).map((r) => ({
              app: r.app as string, day: Number(r.day), fingerprint: r.fingerprint as string, device: r.device as bigint, ts: Number(r.ts),
              av: r.av as string, crashType: r.crash_type as string, message: r.message as string | null, order: Number(r.id),
            }))
          : [];
        return { events, crashes };
      },
      async aggregates() {
        const all = (sql: string) => (main.prepare(sql).raw().safeIntegers(true).all() as unknown[][]).map(rowKey).sort();
        return {
          daily: all('SELECT app_id, date, event_type, count, unique_devices, lower(hex(sketch)) FROM telemetry_daily'),
          dims: all('SELECT app_id, date, dim, value, count, devices, lower(hex(sketch)) FROM telemetry_daily_dims'),
          deviceDays: all('SELECT a.app_id, d.day, d.dim, d.value, d.device FROM device_days d JOIN dim_apps a ON a.id = d.app'),
          crashDaily: all('SELECT app_id, date, fingerprint, crash_type, message, count, devices, first_seen, last_seen, app_versions FROM crash_daily'),
          crashDevices: all('SELECT app_id, date, fingerprint, device_id FROM crash_daily_devices'),
        };
      },
      async rollup(now) {
        const r = await sqliteRollup({ db: main, reader: createInlineReader(main), now: () => now });
        return { rows: r.rows, closedDays: r.closedDays };
      },
      async prune(now, retentionDays) {
        const r = await sqlitePrune({ db: main, reader: createInlineReader(main), now: () => now, retentionDays });
        return { cutoffDay: r.cutoffDay, dropped: r.dropped.map((d) => d.name) };
      },
      async watermark() {
        return Object.fromEntries((main.prepare('SELECT kind, kept_from FROM retention_watermark').raw().all() as [string, string][]));
      },
      async close() {
        for (const db of dbs) db.close();
        dir.cleanup();
      },
    };
  },
};

const postgres: Backend = {
  name: 'postgres',
  createsAhead: true,
  concurrentWriters: true,
  async open(opts = {}) {
    const db = await createMigratedPgDatabase();
    const pools: PgPool[] = [];
    const writers = new Map<number, TelemetryWriter>();
    return {
      writer(process = 0, o = {}) {
        let w = writers.get(process);
        if (!w) {
          // Each "process" its own pool, as separate ingest processes have.
          const pool = process === 0 ? db.pool : openPgPool(db.url);
          if (process !== 0) pools.push(pool);
          writers.set(process, (w = new PgTelemetryWriter(pool, { maxEventTypesPerApp: o.maxEventTypesPerApp ?? opts.maxEventTypesPerApp ?? DEFAULT_MAX_TYPES })));
        }
        return w;
      },
      async events() {
        const res = await db.pool.query<{ app: string; device: bigint; type: string; ts: bigint; id: string | null }>(
          `SELECT a.app_id AS app, e.device_id AS device, t.name AS type, e.timestamp AS ts, replace(e.event_id::text, '-', '') AS id
           FROM telemetry_events e JOIN dim_apps a ON a.id = e.app_id JOIN dim_event_types t ON t.id = e.event_type`,
        );
        return sortEvents(res.rows.map((r) => ({ app: r.app, device: r.device, type: r.type, ts: Number(r.ts), id: r.id })));
      },
      async crashCount() {
        return Number((await db.pool.query<{ n: bigint }>('SELECT count(*) AS n FROM crash_reports')).rows[0]!.n);
      },
      async partitions(kind) {
        return (await db.pool.query<{ month: string }>('SELECT month FROM telemetry_partitions WHERE kind = $1 ORDER BY month', [kind])).rows.map((r) => r.month);
      },
      async typeCount(app) {
        const res = await db.pool.query<{ n: bigint }>('SELECT count(*) AS n FROM app_event_types x JOIN dim_apps a ON a.id = x.app_id WHERE a.app_id = $1', [app]);
        return Number(res.rows[0]!.n);
      },
      async raw() {
        const ev = await db.pool.query<{ app: string; day: number; type: string; mv: string; av: string; device: bigint }>(
          `SELECT a.app_id AS app, e.day, t.name AS type, coalesce(e.mosis_version, '') AS mv, coalesce(e.app_version, '') AS av, e.device_id AS device
           FROM telemetry_events e JOIN dim_apps a ON a.id = e.app_id JOIN dim_event_types t ON t.id = e.event_type`,
        );
        const cr = await db.pool.query<{ app: string; day: number; fingerprint: string; device: bigint; ts: bigint; av: string; crash_type: string; message: string | null; id: bigint }>(
          `SELECT a.app_id AS app, c.day, c.fingerprint, c.device_id AS device, c.timestamp AS ts, c.app_version AS av, c.crash_type, c.message, c.id
           FROM crash_reports c JOIN dim_apps a ON a.id = c.app_id`,
        );
        return {
          events: ev.rows,
          crashes: cr.rows.map((r) => ({ app: r.app, day: r.day, fingerprint: r.fingerprint, device: r.device, ts: Number(r.ts), av: r.av, crashType: r.crash_type, message: r.message, order: Number(r.id) })),
        };
      },
      async aggregates() {
        const all = async (sql: string) => (await db.pool.query({ text: sql, rowMode: 'array' })).rows.map(rowKey).sort();
        return {
          daily: await all("SELECT app_id, date, event_type, count, unique_devices, encode(sketch, 'hex') FROM telemetry_daily"),
          dims: await all("SELECT app_id, date, dim, value, count, devices, encode(sketch, 'hex') FROM telemetry_daily_dims"),
          deviceDays: await all('SELECT a.app_id, d.day, d.dim, d.value, d.device FROM device_days d JOIN dim_apps a ON a.id = d.app'),
          crashDaily: await all('SELECT app_id, date, fingerprint, crash_type, message, count, devices, first_seen, last_seen, app_versions FROM crash_daily'),
          crashDevices: await all('SELECT app_id, date, fingerprint, device_id FROM crash_daily_devices'),
        };
      },
      async rollup(now) {
        const r = await new PgTelemetryMaintenance({ pool: db.pool, settleMs: 0, now: () => now }).rollup();
        return { rows: r.rows, closedDays: r.closedDays };
      },
      async prune(now, retentionDays) {
        const r = await new PgTelemetryMaintenance({ pool: db.pool, settleMs: 0, now: () => now }).prune({ retentionDays });
        return { cutoffDay: r.cutoffDay, dropped: r.dropped.map((d) => d.name) };
      },
      async watermark() {
        const res = await db.pool.query<{ kind: string; kept_from: string }>('SELECT kind, kept_from FROM retention_watermark');
        return Object.fromEntries(res.rows.map((r) => [r.kind, r.kept_from]));
      },
      async close() {
        for (const w of writers.values()) await w.close();
        await Promise.all(pools.map((p) => p.end()));
        await db.close();
      },
    };
  },
};

export const BACKENDS: Backend[] = [sqlite, postgres];

/** Runs `fn` as one describe block per backend (the PostgreSQL one skips or fails as describePg says). */
export function forEachBackend(title: string, fn: (backend: Backend) => void): void {
  for (const b of BACKENDS) (b.name === 'postgres' ? describePg : describe)(`${title} [${b.name}]`, () => fn(b));
}

/** One aggregate row as comparable text: numbers and bigints alike, NULL and empty sketch alike. */
function rowKey(row: unknown[]): string {
  return row.map((v) => (v === null || v === undefined || v === '' ? '∅' : typeof v === 'bigint' ? v.toString() : String(v))).join('|');
}

function sortEvents(rows: StoredEvent[]): StoredEvent[] {
  const key = (e: StoredEvent) => `${e.app}\u0000${String(e.ts).padStart(15, '0')}\u0000${e.device}\u0000${e.id ?? ''}\u0000${e.type}`;
  return rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

// ---- records ----------------------------------------------------------------------------------------

let deviceSeq = 0n;
/** A device hash (64-bit, signed), distinct per call. */
export function device(): bigint {
  return BigInt.asIntN(64, (0x5eed_0000_0000_0000n + ++deviceSeq * 0x9e37_79b9n) ^ (deviceSeq << 40n));
}

export function eventRecord(over: Partial<EventRecord> & { appId?: string } = {}): EventRecord {
  const appId = over.appId ?? 'app-1';
  return {
    appId,
    packageId: `com.test.${appId.replace(/[^a-z0-9]/gi, '')}`,
    deviceHash: 1n,
    eventType: 'screen_view',
    timestamp: Date.now() - 60_000,
    eventId: randomBytes(16),
    mosisVersion: '2.0.0',
    appVersion: '1.0.0',
    data: null,
    ...over,
  };
}

export function crashRecord(over: Partial<CrashRecord> & { appId?: string } = {}): CrashRecord {
  const appId = over.appId ?? 'app-1';
  return {
    appId,
    packageId: `com.test.${appId.replace(/[^a-z0-9]/gi, '')}`,
    deviceHash: 1n,
    timestamp: Date.now() - 60_000,
    crashId: randomBytes(16),
    fingerprint: 'f'.repeat(16),
    crashType: 'native_signal',
    appVersion: '1.0.0',
    message: 'SIGSEGV',
    stackTrace: null,
    context: null,
    mosisVersion: '2.0.0',
    ...over,
  };
}
