import { MONTH_EDGE_DEDUP_MS, PG_WRITE_TX_TIMEOUT_MS } from '../../limits.js';
import type { CrashRecord, EventRecord, RowRejection, WriteRequest, WriteResult } from '../types.js';
import { deviceLockKey, hash32, LOCK_NS_APP_TYPES, LOCK_NS_DEVICE } from './locks.js';
import { ensurePgPartitions, monthsAhead } from './partitions.js';
import { monthOf } from '../../days.js';
import { partitionName, type PartitionKind } from '../partitions.js';
import type { PgClient, PgPool } from './pool.js';
import { WriterUnavailableError, type TelemetryWriter } from '../types.js';

const DAY_MS = 86_400_000;

export interface PgWriterOptions {
  /** Distinct event types an app may have; a row of a new type beyond it is refused (`event_type_limit`). */
  maxEventTypesPerApp: number;
  /** Bound of each write transaction (default PG_WRITE_TX_TIMEOUT_MS; see PG_SETTLE_MS). */
  txTimeoutMs?: number;
  /** Server clock (Unix ms) read once per commit for the rows' `received_at`; default Date.now. */
  now?: () => number;
}

/** One accepted event on its way in, with where its result goes. */
interface EventRow {
  req: number;
  r: EventRecord;
  app: number;
  type: number;
  uuid: string | null;
}

interface CrashRow {
  req: number;
  r: CrashRecord;
  app: number;
  uuid: string | null;
  /** Neighbouring month's day range to look in (near a month edge), or null. */
  nbFrom: number | null;
  nbTo: number | null;
}

/**
 * Events: the rows go in as one multi-row INSERT from arrays (unnest), skipping those whose id is stored
 * already in the neighbouring day (a retry whose corrected timestamp crossed midnight) and, through the
 * unique index, in their own day. The statement answers the ordinals of the rows it did not store.
 */
const INSERT_EVENTS = `
WITH input AS (
  SELECT * FROM unnest($1::int[], $2::int[], $3::bigint[], $4::int[], $5::bigint[], $6::uuid[], $7::text[], $8::text[], $9::text[])
    WITH ORDINALITY AS r(app_id, day, device_id, event_type, timestamp, event_id, mosis_version, event_data, app_version, ord)
), ins AS (
  INSERT INTO telemetry_events (app_id, day, device_id, event_type, timestamp, event_id, mosis_version, event_data, app_version, received_at)
  SELECT app_id, day, device_id, event_type, timestamp, event_id, mosis_version, event_data, app_version, $10::bigint
  FROM input i
  WHERE i.event_id IS NULL OR NOT EXISTS (
    SELECT 1 FROM telemetry_events e
    WHERE e.app_id = i.app_id AND e.day IN (i.day - 1, i.day + 1) AND e.device_id = i.device_id AND e.event_id = i.event_id)
  ON CONFLICT DO NOTHING
  RETURNING app_id, day, device_id, event_id
)
SELECT i.ord FROM input i
WHERE i.event_id IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM ins WHERE ins.app_id = i.app_id AND ins.day = i.day AND ins.device_id = i.device_id AND ins.event_id = i.event_id)`;

/** Crashes: the same, with the neighbouring month near its edge and the per-partition (app, device, crash_id) index. */
const INSERT_CRASHES = `
WITH input AS (
  SELECT * FROM unnest($1::int[], $2::int[], $3::bigint[], $4::bigint[], $5::uuid[], $6::text[], $7::text[], $8::text[],
                       $9::text[], $10::text[], $11::text[], $12::text[], $13::int[], $14::int[])
    WITH ORDINALITY AS r(app_id, day, device_id, timestamp, crash_id, fingerprint, crash_type, app_version,
                         message, stack_trace, context, mosis_version, nb_from, nb_to, ord)
), ins AS (
  INSERT INTO crash_reports (app_id, day, device_id, timestamp, crash_id, fingerprint, crash_type, app_version,
                             message, stack_trace, context, mosis_version, created_at)
  SELECT app_id, day, device_id, timestamp, crash_id, fingerprint, crash_type, app_version,
         message, stack_trace, context, mosis_version, $15::bigint
  FROM input i
  WHERE i.crash_id IS NULL OR i.nb_from IS NULL OR NOT EXISTS (
    SELECT 1 FROM crash_reports c
    WHERE c.app_id = i.app_id AND c.device_id = i.device_id AND c.crash_id = i.crash_id AND c.day >= i.nb_from AND c.day < i.nb_to)
  ON CONFLICT DO NOTHING
  RETURNING app_id, device_id, crash_id
)
SELECT i.ord FROM input i
WHERE i.crash_id IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM ins WHERE ins.app_id = i.app_id AND ins.device_id = i.device_id AND ins.crash_id = i.crash_id)`;

/**
 * The telemetry writer on PostgreSQL. Several ingest processes may write at once, so what SQLite gets from
 * its one writer is made explicit here:
 * - Idempotency: the unique index (app, day, device, event_id) catches a retry within its day; a retry in
 *   the neighbouring day is looked for in the same INSERT. Both run under a transaction-scoped advisory
 *   lock per (app, device) in the batch, taken in sorted order (no deadlocks), so two processes storing
 *   the same retried event at once store it once: the second waits, then sees the first's row.
 * - event_type_limit: a new type is counted under its app's advisory lock, after re-reading the app's types.
 * - Partitions exist before the transaction that needs them (partitions.ts).
 * - Each transaction is bounded (PG_WRITE_TX_TIMEOUT_MS), which the settled position relies on.
 * Cached dimension ids are dropped whenever a transaction fails (they may have been made by it).
 */
export class PgTelemetryWriter implements TelemetryWriter {
  private apps = new Map<string, { id: number; packageId: string }>();
  private eventTypes = new Map<string, number>();
  /** Per portal app id: its event types (name to dim_event_types.id). */
  private appTypes = new Map<string, Map<string, number>>();
  private known = new Set<string>();
  /** The server bounds a whole transaction (PostgreSQL 17+), not only each statement. */
  private txTimeoutSupported: boolean | undefined;
  private closed = false;

  constructor(
    private readonly pool: PgPool,
    private readonly opts: PgWriterOptions,
  ) {}

  invalidate(): void {
    this.apps.clear();
    this.eventTypes.clear();
    this.appTypes.clear();
    this.known.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async write(requests: readonly WriteRequest[]): Promise<WriteResult[]> {
    if (this.closed) throw new Error('telemetry writer is closed');
    const receivedAt = (this.opts.now ?? Date.now)();
    try {
      await this.ensurePartitions(requests, receivedAt);
      const client = await this.pool.connect();
      try {
        if (this.txTimeoutSupported === undefined) {
          const v = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
          this.txTimeoutSupported = Number(v.rows[0]!.v) >= 170000;
        }
        const timeout = Math.max(1, Math.round(this.opts.txTimeoutMs ?? PG_WRITE_TX_TIMEOUT_MS));
        // Integers only: SET takes no parameters.
        await client.query(
          `BEGIN; SET LOCAL statement_timeout = ${timeout}; SET LOCAL idle_in_transaction_session_timeout = ${timeout}` +
            (this.txTimeoutSupported ? `; SET LOCAL transaction_timeout = ${timeout}` : ''),
        );
        let results: WriteResult[];
        try {
          results = await this.writeIn(client, requests, receivedAt);
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          throw err;
        }
        try {
          await client.query('COMMIT');
        } catch (err) {
          // The server answered (an SQLSTATE): it rolled back. No answer: it may or may not have committed.
          if ((err as { code?: unknown }).code === undefined) throw new WriterUnavailableError(`telemetry commit outcome unknown: ${(err as Error).message}`, { cause: err });
          throw err;
        }
        return results;
      } finally {
        client.release();
      }
    } catch (err) {
      // Dimension ids made inside the rolled-back transaction do not exist; partitions may have gone.
      this.invalidate();
      if (err instanceof WriterUnavailableError) throw err;
      throw new Error(`telemetry write: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The partitions of every month in the batch, and of this month and the next, exist before the transaction. */
  private async ensurePartitions(requests: readonly WriteRequest[], now: number): Promise<void> {
    const need: Record<PartitionKind, Set<string>> = { events: new Set(), crashes: new Set() };
    for (const r of requests) for (const row of r.rows) need[r.kind].add(monthOf(row.timestamp));
    for (const kind of ['events', 'crashes'] as const) {
      if (!this.known.has(partitionName(kind, monthOf(now)))) for (const m of monthsAhead(now)) need[kind].add(m);
      const missing = [...need[kind]].filter((m) => !this.known.has(partitionName(kind, m)));
      if (missing.length === 0) continue;
      for (const name of await ensurePgPartitions(this.pool, kind, missing)) this.known.add(name);
    }
  }

  private async writeIn(client: PgClient, requests: readonly WriteRequest[], receivedAt: number): Promise<WriteResult[]> {
    const results: WriteResult[] = requests.map(() => ({ stored: 0, duplicates: 0 }));
    const portalApps = new Map<string, string>();
    for (const r of requests) for (const row of r.rows) portalApps.set(row.appId, row.packageId);
    await this.loadAppTypes(client, [...portalApps.keys()].filter((a) => !this.appTypes.has(a)));

    // New event types per app, in row order: they decide which apps' type locks are taken.
    const newTypes = new Map<string, Set<string>>();
    for (const r of requests) {
      if (r.kind !== 'events') continue;
      for (const e of r.rows) if (!this.appTypes.get(e.appId)!.has(e.eventType)) (newTypes.get(e.appId) ?? newTypes.set(e.appId, new Set()).get(e.appId)!).add(e.eventType);
    }

    // Every advisory lock first, in one sorted order (devices, then apps), before any row or index entry
    // is written: a transaction then never waits on a lock while holding a row another one needs.
    const devKeys = new Set<number>();
    for (const r of requests) {
      for (const row of r.rows) {
        const id = r.kind === 'events' ? (row as EventRecord).eventId : (row as CrashRecord).crashId;
        if (id) devKeys.add(deviceLockKey(row.appId, row.deviceHash));
      }
    }
    const ns: number[] = [];
    const keys: number[] = [];
    for (const k of [...devKeys].sort((a, b) => a - b)) ns.push(LOCK_NS_DEVICE), keys.push(k);
    for (const k of [...new Set([...newTypes.keys()].map((a) => hash32(a)))].sort((a, b) => a - b)) ns.push(LOCK_NS_APP_TYPES), keys.push(k);
    if (keys.length) await client.query('SELECT count(pg_advisory_xact_lock(ns, k)) FROM unnest($1::int[], $2::int[]) AS l(ns, k)', [ns, keys]);
    // Another process may have added types to these apps before we held their locks.
    if (newTypes.size) await this.loadAppTypes(client, [...newTypes.keys()]);

    // Which new types fit under the limit, in row order; refused rows are reported, never stored.
    const accepted = new Map<string, string[]>();
    const rejected = new Map<number, RowRejection[]>();
    const counts = new Map<string, number>();
    const adding = new Map<string, Set<string>>();
    for (const [ri, r] of requests.entries()) {
      if (r.kind !== 'events') continue;
      for (const [i, e] of r.rows.entries()) {
        const types = this.appTypes.get(e.appId)!;
        if (types.has(e.eventType) || adding.get(e.appId)?.has(e.eventType)) continue;
        const n = counts.get(e.appId) ?? types.size;
        if (n >= this.opts.maxEventTypesPerApp) {
          (rejected.get(ri) ?? rejected.set(ri, []).get(ri)!).push({
            row: i,
            reason: 'event_type_limit',
            message: `the app already has ${this.opts.maxEventTypesPerApp} event types; a new one is not accepted`,
          });
          continue;
        }
        counts.set(e.appId, n + 1);
        (adding.get(e.appId) ?? adding.set(e.appId, new Set()).get(e.appId)!).add(e.eventType);
        (accepted.get(e.appId) ?? accepted.set(e.appId, []).get(e.appId)!).push(e.eventType);
      }
    }

    await this.resolveApps(client, portalApps);
    if (accepted.size) await this.addTypes(client, accepted);

    // Rows in, with an idempotency key seen once per batch (a repeat in any day is a duplicate).
    const seen = new Set<string>();
    const events: EventRow[] = [];
    const crashes: CrashRow[] = [];
    for (const [ri, r] of requests.entries()) {
      const res = results[ri]!;
      if (r.kind === 'events') {
        const refused = new Set(rejected.get(ri)?.map((x) => x.row));
        for (const [i, e] of r.rows.entries()) {
          if (refused.has(i)) continue;
          const uuid = e.eventId ? uuidText(e.eventId) : null;
          if (uuid) {
            const key = `e:${e.appId}:${e.deviceHash}:${uuid}`;
            if (seen.has(key)) {
              res.duplicates++;
              continue;
            }
            seen.add(key);
          }
          events.push({ req: ri, r: e, app: this.apps.get(e.appId)!.id, type: this.appTypes.get(e.appId)!.get(e.eventType)!, uuid });
        }
        const rej = rejected.get(ri);
        if (rej) res.rejected = rej;
      } else {
        for (const c of r.rows) {
          const uuid = c.crashId ? uuidText(c.crashId) : null;
          if (uuid) {
            const key = `c:${c.appId}:${c.deviceHash}:${uuid}`;
            if (seen.has(key)) {
              res.duplicates++;
              continue;
            }
            seen.add(key);
          }
          crashes.push({ req: ri, r: c, app: this.apps.get(c.appId)!.id, uuid, ...neighbourMonth(c.timestamp) });
        }
      }
    }
    for (const e of events) results[e.req]!.stored++;
    for (const c of crashes) results[c.req]!.stored++;
    if (events.length) {
      const dup = await client.query<{ ord: bigint }>(INSERT_EVENTS, [
        events.map((e) => e.app),
        events.map((e) => Math.floor(e.r.timestamp / DAY_MS)),
        events.map((e) => e.r.deviceHash.toString()),
        events.map((e) => e.type),
        events.map((e) => e.r.timestamp),
        events.map((e) => e.uuid),
        events.map((e) => e.r.mosisVersion),
        events.map((e) => e.r.data),
        events.map((e) => e.r.appVersion),
        receivedAt,
      ]);
      for (const { ord } of dup.rows) {
        const res = results[events[Number(ord) - 1]!.req]!;
        res.stored--;
        res.duplicates++;
      }
    }
    if (crashes.length) {
      const dup = await client.query<{ ord: bigint }>(INSERT_CRASHES, [
        crashes.map((c) => c.app),
        crashes.map((c) => Math.floor(c.r.timestamp / DAY_MS)),
        crashes.map((c) => c.r.deviceHash.toString()),
        crashes.map((c) => c.r.timestamp),
        crashes.map((c) => c.uuid),
        crashes.map((c) => c.r.fingerprint),
        crashes.map((c) => c.r.crashType),
        crashes.map((c) => c.r.appVersion),
        crashes.map((c) => c.r.message),
        crashes.map((c) => c.r.stackTrace),
        crashes.map((c) => c.r.context),
        crashes.map((c) => c.r.mosisVersion),
        crashes.map((c) => c.nbFrom),
        crashes.map((c) => c.nbTo),
        receivedAt,
      ]);
      for (const { ord } of dup.rows) {
        const res = results[crashes[Number(ord) - 1]!.req]!;
        res.stored--;
        res.duplicates++;
      }
    }
    return results;
  }

  /** Reads the event types of `appIds` (portal ids) into the cache, replacing what it had. */
  private async loadAppTypes(client: PgClient, appIds: string[]): Promise<void> {
    if (appIds.length === 0) return;
    const res = await client.query<{ app_id: string; name: string; id: number }>(
      `SELECT a.app_id, t.name, t.id FROM dim_apps a
       JOIN app_event_types x ON x.app_id = a.id JOIN dim_event_types t ON t.id = x.event_type
       WHERE a.app_id = ANY($1)`,
      [appIds],
    );
    for (const a of appIds) this.appTypes.set(a, new Map());
    for (const r of res.rows) this.appTypes.get(r.app_id)!.set(r.name, r.id);
  }

  /** dim_apps ids of the batch's apps: read, made when missing, package_id kept current. */
  private async resolveApps(client: PgClient, apps: Map<string, string>): Promise<void> {
    const todo = [...apps].filter(([a, p]) => this.apps.get(a)?.packageId !== p).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (todo.length === 0) return;
    const ids = todo.map(([a]) => a);
    const pkgs = todo.map(([, p]) => p);
    // Made in sorted order, so two processes making the same new apps wait on each other in one order.
    await client.query(
      'INSERT INTO dim_apps (app_id, package_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (app_id) DO NOTHING',
      [ids, pkgs],
    );
    const res = await client.query<{ id: number; app_id: string; package_id: string }>(
      'SELECT id, app_id, package_id FROM dim_apps WHERE app_id = ANY($1)',
      [ids],
    );
    for (const r of res.rows) {
      const want = apps.get(r.app_id)!;
      // A renamed package (rare): the row is updated, and locked for this transaction's length.
      if (r.package_id !== want) await client.query('UPDATE dim_apps SET package_id = $2 WHERE id = $1', [r.id, want]);
      this.apps.set(r.app_id, { id: r.id, packageId: want });
    }
  }

  /** Registers accepted new event types (dimension ids first, names sorted), under their apps' locks. */
  private async addTypes(client: PgClient, accepted: Map<string, string[]>): Promise<void> {
    const names = [...new Set([...accepted.values()].flat())].filter((n) => !this.eventTypes.has(n)).sort();
    if (names.length) {
      await client.query('INSERT INTO dim_event_types (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING', [names]);
      const res = await client.query<{ id: number; name: string }>('SELECT id, name FROM dim_event_types WHERE name = ANY($1)', [names]);
      for (const r of res.rows) this.eventTypes.set(r.name, r.id);
    }
    const apps: number[] = [];
    const types: number[] = [];
    for (const [appId, list] of accepted) {
      const app = this.apps.get(appId)!.id;
      const cache = this.appTypes.get(appId)!;
      for (const n of list) {
        const t = this.eventTypes.get(n)!;
        apps.push(app);
        types.push(t);
        cache.set(n, t);
      }
    }
    await client.query(
      'INSERT INTO app_event_types (app_id, event_type) SELECT * FROM unnest($1::int[], $2::int[]) ON CONFLICT DO NOTHING',
      [apps, types],
    );
  }
}

/** A 16-byte id as PostgreSQL's uuid text. */
function uuidText(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Crashes: within MONTH_EDGE_DEDUP_MS of a month edge, the neighbouring month's day range to look in. */
function neighbourMonth(ts: number): { nbFrom: number | null; nbTo: number | null } {
  const d = new Date(ts);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const start = Date.UTC(y, m, 1);
  const next = Date.UTC(y, m + 1, 1);
  if (ts - start < MONTH_EDGE_DEDUP_MS) return { nbFrom: Date.UTC(y, m - 1, 1) / DAY_MS, nbTo: start / DAY_MS };
  if (next - ts <= MONTH_EDGE_DEDUP_MS) return { nbFrom: next / DAY_MS, nbTo: Date.UTC(y, m + 2, 1) / DAY_MS };
  return { nbFrom: null, nbTo: null };
}
