import { addDays, DAY_MS, dayStartMs } from '../../days.js';
import { MAX_FUTURE_MS, TAIL_SCAN_ROWS } from '../../limits.js';
import { DeviceHasher } from '../../privacy/device-hash.js';
import { dayOf, monthOf } from '../../days.js';
import type { CrashesQuery, EventsPage, EventsQuery, RawCrash, RawEvent, RawReads, TailPage, TailQuery } from '../reads.js';
import { decodeRowCursor, encodeRowCursor, type RowPosition } from '../positions.js';
import type { PgClient, PgPool } from './pool.js';
import { decodePgHead, encodePgHead } from './positions.js';
import { deviceHex, inReadSnapshot, isMissingSchema, num, pgDimApp } from './read-tx.js';
import { SettledPosition, type SettledPositionOptions } from './settled.js';

/**
 * Reads of the raw partitions on PostgreSQL: an app's events newest first, the live tail, raw crashes. The
 * queries name the parent tables; `day = $n` (the partition key) prunes them to one month's partition.
 *
 * - events: one snapshot; walks the UTC days of the range from the newest down, one query per day with
 *   rows, through the (app_id, day, device_id, event_id) index, keyset-paginated by (timestamp, id) and
 *   clamped to the raw retention. Days without any row of the app are skipped by one max(day) lookup on
 *   the same index, so a sparse app costs two queries per day it has, not one per day of the range.
 * - tail: a head is a settled position of the one id sequence (settled.ts): "id > head and id <= settled"
 *   is exactly what was committed since, in any partition, and no later commit can add to it. Each
 *   request examines at most TAIL_SCAN_ROWS ids and answers the position it reached. It lags by the
 *   settle delay.
 */

export interface PgRawReadsOptions extends SettledPositionOptions {
  /** As SqliteRawReads': the device-hash secret (or a getter); without one a device filter finds nothing. */
  deviceSecret?: string | (() => string | undefined);
  /** Raw retention (RETENTION_DAYS): events older than its first day are not answered. */
  retentionDays: number;
  now?: () => number;
  /** Ids a tail request examines at most (tests lower it). */
  tailScanRows?: number;
}

interface EventRow {
  id: bigint;
  timestamp: bigint;
  received_at: bigint | null;
  event_id: string | null;
  event_type: string;
  device_id: bigint;
  mosis_version: string | null;
  app_version: string | null;
  event_data: string | null;
}

const EVENT_COLUMNS = `p.id, p.timestamp, p.received_at, p.event_id::text AS event_id, t.name AS event_type, p.device_id,
  p.mosis_version, p.app_version, p.event_data`;

/**
 * One UTC day of an app's events, newest first below a (timestamp, id) position. Parameters: app, day
 * number, earliest timestamp, upper timestamp, upper id, limit, then [device hash], [event type id].
 */
export function pgEventsDaySql(filters: { device: boolean; type: boolean }): string {
  const device = filters.device ? ' AND p.device_id = $7' : '';
  const type = filters.type ? ` AND p.event_type = $${filters.device ? 8 : 7}` : '';
  return `SELECT ${EVENT_COLUMNS} FROM telemetry_events p JOIN dim_event_types t ON t.id = p.event_type
    WHERE p.app_id = $1 AND p.day = $2${device}${type}
      AND p.timestamp >= $3 AND (p.timestamp < $4 OR (p.timestamp = $4 AND p.id < $5))
    ORDER BY p.timestamp DESC, p.id DESC LIMIT $6`;
}

/** The newest day, within [$2, $3], that has any row of app $1: one backward step on the index's (app_id, day) prefix. */
export const PG_LATEST_DAY_SQL = 'SELECT max(day) AS day FROM telemetry_events WHERE app_id = $1 AND day BETWEEN $2 AND $3';

/**
 * An app's rows in an id range, in id order. `app_id + 0` keeps the planner on the id index (the range is
 * bounded by what was stored since the position, whatever the app has). Parameters: after, last, app, limit.
 */
export const PG_TAIL_SQL = `SELECT ${EVENT_COLUMNS} FROM telemetry_events p JOIN dim_event_types t ON t.id = p.event_type
  WHERE p.id > $1 AND p.id <= $2 AND p.app_id + 0 = $3 ORDER BY p.id LIMIT $4`;

export class PgRawReads implements RawReads {
  private hasher: { secret: string; hasher: DeviceHasher } | undefined;
  private readonly now: () => number;
  private readonly tailScanRows: bigint;
  private readonly settled: SettledPosition;

  constructor(
    private readonly pool: PgPool,
    private readonly opts: PgRawReadsOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.tailScanRows = BigInt(opts.tailScanRows ?? TAIL_SCAN_ROWS);
    this.settled = new SettledPosition(opts);
  }

  async events(q: EventsQuery): Promise<EventsPage> {
    const after = q.cursor !== undefined ? decodeRowCursor(q.cursor) : undefined;
    const device = q.deviceId !== undefined ? this.deviceHash(q.deviceId) : undefined;
    const head = encodePgHead(await this.settledNow());
    return inReadSnapshot(
      this.pool,
      async (c) => {
        const rows = await this.eventRows(c, q, after, device);
        const more = rows.length > q.limit;
        const kept = more ? rows.slice(0, q.limit) : rows;
        const last = kept[kept.length - 1];
        return { items: kept.map(rawEvent), next_cursor: more && last ? encodeRowCursor({ timestamp: Number(last.timestamp), id: Number(last.id) }) : null, head };
      },
      () => ({ items: [], next_cursor: null, head: encodePgHead(0n) }),
    );
  }

  /** Up to `q.limit + 1` rows, newest first. `device`: the hash, or null when it cannot match (no secret). */
  private async eventRows(c: PgClient, q: EventsQuery, after: RowPosition | undefined, device: bigint | null | undefined): Promise<EventRow[]> {
    const app = await pgDimApp(c, q.appId);
    if (app === undefined || device === null) return [];
    let type: number | undefined;
    if (q.eventType !== undefined) {
      type = (await c.query<{ id: number }>('SELECT id FROM dim_event_types WHERE name = $1', [q.eventType])).rows[0]?.id;
      if (type === undefined) return [];
    }
    const now = this.now();
    const from = Math.max(q.fromMs, dayStartMs(addDays(dayOf(now), -this.opts.retentionDays)), 0);
    let upper: RowPosition = { timestamp: Math.min(q.toMs, now + MAX_FUTURE_MS), id: Number.MAX_SAFE_INTEGER };
    if (after && after.timestamp <= upper.timestamp) upper = after;
    if (from > upper.timestamp) return [];

    const sql = pgEventsDaySql({ device: device !== undefined, type: type !== undefined });
    const out: EventRow[] = [];
    const want = q.limit + 1;
    const firstDay = Math.floor(from / DAY_MS);
    let day = Math.floor(upper.timestamp / DAY_MS);
    while (day >= firstDay && out.length < want) {
      const latest = (await c.query<{ day: number | null }>(PG_LATEST_DAY_SQL, [app, firstDay, day])).rows[0]?.day;
      if (latest === null || latest === undefined) break;
      day = latest;
      const params: unknown[] = [app, day, from, upper.timestamp, upper.id, want - out.length];
      if (device !== undefined) params.push(device);
      if (type !== undefined) params.push(type);
      out.push(...(await c.query<EventRow>(sql, params)).rows);
      day--;
    }
    return out;
  }

  async tail(q: TailQuery): Promise<TailPage> {
    const from = decodePgHead(q.after);
    // Settled before the snapshot is taken: every row up to it has committed, so the snapshot holds them all.
    const settled = await this.settledNow();
    return inReadSnapshot(
      this.pool,
      async (c) => {
        const end = settled < from + this.tailScanRows ? settled : from + this.tailScanRows;
        if (end <= from) return { items: [], head: encodePgHead(from) };
        const app = await pgDimApp(c, q.appId);
        if (app === undefined) return { items: [], head: encodePgHead(end) };
        const rows = (await c.query<EventRow>(PG_TAIL_SQL, [from, end, app, q.limit])).rows;
        const through = rows.length < q.limit ? end : rows[rows.length - 1]!.id;
        return { items: rows.map(rawEvent), head: encodePgHead(through) };
      },
      () => ({ items: [], head: encodePgHead(from) }),
    );
  }

  /** The settled position; 0 while telemetry is not migrated on this server (nothing stored yet). */
  private async settledNow(): Promise<bigint> {
    try {
      return await this.settled.now(this.pool);
    } catch (err) {
      if (isMissingSchema(err)) return 0n;
      throw new Error(`telemetry read: ${(err as Error).message}`, { cause: err });
    }
  }

  async crashes(q: CrashesQuery): Promise<{ items: RawCrash[]; next_cursor: string | null }> {
    const after = q.cursor !== undefined ? decodeRowCursor(q.cursor) : undefined;
    return inReadSnapshot(
      this.pool,
      async (c) => {
        const rows = await this.crashRows(c, q, after);
        const more = rows.length > q.limit;
        const kept = more ? rows.slice(0, q.limit) : rows;
        const last = kept[kept.length - 1];
        return { items: kept.map(rawCrash), next_cursor: more && last ? encodeRowCursor({ timestamp: Number(last.timestamp), id: Number(last.id) }) : null };
      },
      () => ({ items: [], next_cursor: null }),
    );
  }

  /**
   * Up to `q.limit + 1` crash rows, newest first, within the raw retention: one query over the parent, each
   * partition read backwards through its (app_id, timestamp) or (app_id, fingerprint, timestamp) index.
   */
  private async crashRows(c: PgClient, q: CrashesQuery, after: RowPosition | undefined): Promise<CrashRow[]> {
    const app = await pgDimApp(c, q.appId);
    if (app === undefined) return [];
    const from = dayStartMs(addDays(dayOf(this.now()), -this.opts.retentionDays));
    const upper = after ?? { timestamp: Number.MAX_SAFE_INTEGER, id: Number.MAX_SAFE_INTEGER };
    const columns = `id, crash_id::text AS crash_id, device_id, timestamp, created_at, fingerprint, crash_type, app_version, message,
      stack_trace, context, mosis_version`;
    const page = 'AND day >= $2 AND timestamp >= $3 AND (timestamp < $4 OR (timestamp = $4 AND id < $5)) ORDER BY timestamp DESC, id DESC LIMIT $6';
    const bounds = [app, Math.floor(from / DAY_MS), from, upper.timestamp, upper.id, q.limit + 1];
    // Two statements rather than "$7 IS NULL OR": each then uses its own index.
    const res =
      q.fingerprint === undefined
        ? await c.query<CrashRow>(`SELECT ${columns} FROM crash_reports WHERE app_id = $1 ${page}`, bounds)
        : await c.query<CrashRow>(`SELECT ${columns} FROM crash_reports WHERE app_id = $1 AND fingerprint = $7 ${page}`, [...bounds, q.fingerprint]);
    return res.rows;
  }

  /** The stored hash of a raw device id; null when there is no secret yet (then no device matches). */
  private deviceHash(raw: string): bigint | null {
    const secret = typeof this.opts.deviceSecret === 'function' ? this.opts.deviceSecret() : this.opts.deviceSecret;
    if (!secret) return null;
    if (this.hasher?.secret !== secret) this.hasher = { secret, hasher: new DeviceHasher(secret) };
    return this.hasher.hasher.hash(raw);
  }
}

function rawEvent(r: EventRow): RawEvent {
  return {
    event_id: r.event_id,
    event_type: r.event_type,
    timestamp: num(r.timestamp),
    received_at: r.received_at === null ? null : num(r.received_at),
    device: deviceHex(r.device_id),
    mosis_version: r.mosis_version,
    app_version: r.app_version,
    data: r.event_data ? (JSON.parse(r.event_data) as Record<string, unknown>) : null,
  };
}

interface CrashRow {
  id: bigint;
  crash_id: string | null;
  device_id: bigint;
  timestamp: bigint;
  created_at: bigint;
  fingerprint: string;
  crash_type: string;
  app_version: string;
  message: string | null;
  stack_trace: string | null;
  context: string | null;
  mosis_version: string | null;
}

function rawCrash(r: CrashRow): RawCrash {
  const timestamp = num(r.timestamp);
  return {
    // As on SQLite, `YYYYMM-id`: the month of its partition, then its id (here the one sequence's).
    id: `${monthOf(timestamp).replace('-', '')}-${r.id}`,
    crash_id: r.crash_id,
    fingerprint: r.fingerprint,
    crash_type: r.crash_type,
    app_version: r.app_version,
    message: r.message,
    stack_trace: r.stack_trace,
    context: r.context ? (JSON.parse(r.context) as Record<string, unknown>) : null,
    mosis_version: r.mosis_version,
    device: deviceHex(r.device_id),
    timestamp,
    received_at: num(r.created_at),
  };
}
