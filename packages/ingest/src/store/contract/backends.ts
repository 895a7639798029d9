import { DATABASES, databasePath, migrateUp, openDatabase, tempDir, type DB } from '@mosis/shared';
import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { listPartitions } from '../partitions.js';
import { PgTelemetryWriter } from '../postgres/writer.js';
import { openPgPool, type PgPool } from '../postgres/pool.js';
import { createMigratedPgDatabase, describePg } from '../postgres/testing.js';
import { SqliteTelemetryStore } from '../sqlite-store.js';
import type { TelemetryWriter } from '../postgres/types.js';
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
  close(): Promise<void>;
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
