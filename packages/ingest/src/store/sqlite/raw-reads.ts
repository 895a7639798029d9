import type { DB } from '@mosis/shared';
import { addDays, DAY_MS, dayStartMs, dayOf, monthOf } from '../../days.js';
import { MAX_FUTURE_MS, TAIL_SCAN_ROWS } from '../../limits.js';
import { DeviceHasher } from '../../privacy/device-hash.js';
import { listPartitions } from './partitions.js';
import type { CrashesQuery, EventsPage, EventsQuery, RawCrash, RawEvent, RawReads, TailPage, TailQuery } from '../reads.js';
import { decodeHead, decodeRowCursor, encodeHead, encodeRowCursor, type PartitionPositions, type RowPosition } from '../positions.js';
import { dimApp, inSnapshot, statement, uuidText } from './snapshot.js';

/**
 * Reads of the raw month partitions: an app's events newest first, the live tail of what is stored, raw
 * crash reports. Each answer comes from one read snapshot of telemetry.db, and every query is bounded:
 *
 * - events: walks the UTC days of the range from the newest down, one query per day through the
 *   partition's one index, `WHERE app_id = ? AND timestamp / 86400000 = ?` (written exactly so, to use
 *   it; a device filter adds `device_id = ?`, the next column of the index), keyset-paginated by
 *   (timestamp, id) and clamped to the raw retention. A timestamp belongs to one month's partition, so
 *   (timestamp, id) orders rows across partitions too.
 * - tail: a position is, per event partition, the highest row id handed out. Row ids grow with every
 *   commit of the single writer and rows are never updated, so "id > position" is exactly what was stored
 *   since, in any partition, late timestamps in older months included. Each request reads at most
 *   TAIL_SCAN_ROWS row ids (a rowid range, whatever app they belong to) and answers the position it reached.
 */

export interface RawReadsOptions {
  /**
   * The deployment's device-hash secret (ingest's DEVICE_HASH_SECRET or DATA_DIR/device-hash.secret), or a
   * getter for it (the file may appear once ingest first starts). Without one a device filter finds nothing.
   */
  deviceSecret?: string | (() => string | undefined);
  /** Raw retention (RETENTION_DAYS): events older than its first day are not answered. */
  retentionDays: number;
  now?: () => number;
  /** Row ids a tail request examines at most (tests lower it). */
  tailScanRows?: number;
}

/** A stored event row as the queries select it. */
interface EventRow {
  id: number;
  timestamp: number;
  received_at: number | null;
  event_id: Buffer | null;
  event_type: string;
  device: string;
  mosis_version: string | null;
  app_version: string | null;
  event_data: string | null;
}

const EVENT_COLUMNS = `p.id, p.timestamp, p.received_at, p.event_id, t.name AS event_type, printf('%016x', p.device_id) AS device,
  p.mosis_version, p.app_version, p.event_data`;

/**
 * One UTC day of an app's events in one partition, newest first below a (timestamp, id) position. The table
 * name comes from the partition registry (partitionName's pattern); everything else is bound. Parameters:
 * app, day number, [device hash], [event type id], earliest timestamp, upper timestamp twice, upper id, limit.
 */
export function eventsDaySql(part: string, filters: { device: boolean; type: boolean }): string {
  return `SELECT ${EVENT_COLUMNS} FROM ${part} p CROSS JOIN dim_event_types t ON t.id = p.event_type
    WHERE p.app_id = ? AND p.timestamp / 86400000 = ?${filters.device ? ' AND p.device_id = ?' : ''}${filters.type ? ' AND p.event_type = ?' : ''}
      AND p.timestamp >= ? AND (p.timestamp < ? OR (p.timestamp = ? AND p.id < ?))
    ORDER BY p.timestamp DESC, p.id DESC LIMIT ?`;
}

/**
 * An app's rows of one partition in a row id range, in id order. `+p.app_id` keeps the planner off the
 * (app_id, day, ...) index, so the scan is the rowid range: bounded by the rows stored since the position,
 * whatever the app has. Parameters: after id, last id, app, limit.
 */
export function tailSql(part: string): string {
  return `SELECT ${EVENT_COLUMNS} FROM ${part} p CROSS JOIN dim_event_types t ON t.id = p.event_type
    WHERE p.id > ? AND p.id <= ? AND +p.app_id = ? ORDER BY p.id LIMIT ?`;
}

export class SqliteRawReads implements RawReads {
  private hasher: { secret: string; hasher: DeviceHasher } | undefined;
  private readonly now: () => number;
  private readonly tailScanRows: number;

  constructor(
    private readonly db: () => DB | undefined,
    private readonly opts: RawReadsOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.tailScanRows = opts.tailScanRows ?? TAIL_SCAN_ROWS;
  }

  async events(q: EventsQuery): Promise<EventsPage> {
    const after = q.cursor !== undefined ? decodeRowCursor(q.cursor) : undefined;
    const device = q.deviceId !== undefined ? this.deviceHash(q.deviceId) : undefined;
    const db = this.db();
    if (!db) return { items: [], next_cursor: null, head: encodeHead(new Map()) };
    return inSnapshot(
      db,
      () => {
        const head = encodeHead(this.positionsNow(db));
        const rows = this.eventRows(db, q, after, device);
        const more = rows.length > q.limit;
        const kept = more ? rows.slice(0, q.limit) : rows;
        const last = kept[kept.length - 1];
        return { items: kept.map(rawEvent), next_cursor: more && last ? encodeRowCursor(last) : null, head };
      },
      () => ({ items: [], next_cursor: null, head: encodeHead(new Map()) }),
    );
  }

  /** Up to `q.limit + 1` rows, newest first. `device`: the hash, or null when it cannot match (no secret). */
  private eventRows(db: DB, q: EventsQuery, after: RowPosition | undefined, device: bigint | null | undefined): EventRow[] {
    const app = dimApp(db, q.appId);
    if (app === undefined || device === null) return [];
    let type: number | undefined;
    if (q.eventType !== undefined) {
      type = statement(db, 'SELECT id FROM dim_event_types WHERE name = ?').pluck().get(q.eventType) as number | undefined;
      if (type === undefined) return [];
    }
    const now = this.now();
    const from = Math.max(q.fromMs, dayStartMs(addDays(dayOf(now), -this.opts.retentionDays)), 0);
    let upper: RowPosition = { timestamp: Math.min(q.toMs, now + MAX_FUTURE_MS), id: Number.MAX_SAFE_INTEGER };
    if (after && after.timestamp <= upper.timestamp) upper = after;
    if (from > upper.timestamp) return [];

    const parts = new Map(listPartitions(db, 'events').map((p) => [p.month, p.name]));
    const sql = (part: string) => eventsDaySql(part, { device: device !== undefined, type: type !== undefined });
    const out: EventRow[] = [];
    const want = q.limit + 1;
    for (let day = Math.floor(upper.timestamp / DAY_MS); day >= Math.floor(from / DAY_MS) && out.length < want; day--) {
      const month = monthOf(day * DAY_MS);
      const part = parts.get(month);
      if (!part) {
        // No partition for this month: go on with the last day of the month before.
        day = Math.floor(Date.parse(`${month}-01T00:00:00.000Z`) / DAY_MS);
        continue;
      }
      const params: unknown[] = [app, day];
      if (device !== undefined) params.push(device);
      if (type !== undefined) params.push(type);
      params.push(from, upper.timestamp, upper.timestamp, upper.id, want - out.length);
      out.push(...(statement(db, sql(part)).all(...params) as EventRow[]));
    }
    return out;
  }

  async tail(q: TailQuery): Promise<TailPage> {
    const from = decodeHead(q.after);
    const db = this.db();
    if (!db) return { items: [], head: encodeHead(from) };
    return inSnapshot(db, () => this.tailIn(db, q, from), () => ({ items: [], head: encodeHead(from) }));
  }

  private tailIn(db: DB, q: TailQuery, from: PartitionPositions): TailPage {
    const app = dimApp(db, q.appId);
    const next: PartitionPositions = new Map();
    /** Per partition scanned: its rows after its position (in id order), and how far they are complete. */
    const streams: Array<{ month: string; rows: EventRow[]; through: number; taken: number }> = [];
    let budget = this.tailScanRows;
    for (const { month, name } of listPartitions(db, 'events')) {
      // A partition the position does not name was created after it: everything in it is new.
      const start = from.get(month) ?? 0;
      const max = (statement(db, `SELECT max(id) FROM ${name}`).pluck().get() as number | null) ?? 0;
      const end = Math.min(max, start + budget);
      if (end <= start) {
        next.set(month, Math.max(start, 0));
        continue;
      }
      if (app === undefined) {
        // The app has no row anywhere in this snapshot (its dim_apps row commits with its first rows).
        next.set(month, max);
        continue;
      }
      const rows = statement(db, tailSql(name)).all(start, end, app, q.limit) as EventRow[];
      const through = rows.length < q.limit ? end : rows[rows.length - 1]!.id;
      budget -= through - start;
      streams.push({ month, rows, through, taken: 0 });
      next.set(month, start);
    }

    // Oldest first by (received_at, month, id), taking each partition's rows in id order, so what one
    // partition hands out is always a prefix of what it has after its position.
    const items: RawEvent[] = [];
    while (items.length < q.limit) {
      let best: (typeof streams)[number] | undefined;
      for (const s of streams) {
        if (s.taken < s.rows.length && (!best || before(s.rows[s.taken]!, s.month, best.rows[best.taken]!, best.month))) best = s;
      }
      if (!best) break;
      items.push(rawEvent(best.rows[best.taken++]!));
    }
    for (const s of streams) next.set(s.month, s.taken === s.rows.length ? s.through : s.rows[s.taken - 1]?.id ?? from.get(s.month) ?? 0);
    return { items, head: encodeHead(next) };
  }

  /** Per event partition, its highest row id now: where a tail of what is stored from now on starts. */
  private positionsNow(db: DB): PartitionPositions {
    const out: PartitionPositions = new Map();
    for (const { month, name } of listPartitions(db, 'events')) {
      out.set(month, (statement(db, `SELECT max(id) FROM ${name}`).pluck().get() as number | null) ?? 0);
    }
    return out;
  }

  async crashes(q: CrashesQuery): Promise<{ items: RawCrash[]; next_cursor: string | null }> {
    const after = q.cursor !== undefined ? decodeRowCursor(q.cursor) : undefined;
    const db = this.db();
    if (!db) return { items: [], next_cursor: null };
    return inSnapshot(
      db,
      () => {
        const rows = this.crashRows(db, q, after);
        const more = rows.length > q.limit;
        const kept = more ? rows.slice(0, q.limit) : rows;
        const last = kept[kept.length - 1];
        return { items: kept.map(rawCrash), next_cursor: more && last ? encodeRowCursor(last) : null };
      },
      () => ({ items: [], next_cursor: null }),
    );
  }

  /** Up to `q.limit + 1` crash rows, newest first, within the raw retention, across the month partitions. */
  private crashRows(db: DB, q: CrashesQuery, after: RowPosition | undefined): CrashRow[] {
    const app = dimApp(db, q.appId);
    if (app === undefined) return [];
    const from = dayStartMs(addDays(dayOf(this.now()), -this.opts.retentionDays));
    const upper = after ?? { timestamp: Number.MAX_SAFE_INTEGER, id: Number.MAX_SAFE_INTEGER };
    const want = q.limit + 1;
    const out: CrashRow[] = [];
    for (const { month, name } of listPartitions(db, 'crashes').reverse()) {
      if (out.length >= want) break;
      if (Date.parse(`${month}-01T00:00:00.000Z`) > upper.timestamp) continue;
      if (month < monthOf(from)) break;
      const columns = `'${month}' AS month, id, crash_id, printf('%016x', device_id) AS device, timestamp, created_at,
        fingerprint, crash_type, app_version, message, stack_trace, context, mosis_version`;
      const page = 'timestamp >= ? AND (timestamp < ? OR (timestamp = ? AND id < ?)) ORDER BY timestamp DESC, id DESC LIMIT ?';
      const bounds = [from, upper.timestamp, upper.timestamp, upper.id, want - out.length];
      // Two statements rather than "? IS NULL OR": each then uses its own index.
      const rows =
        q.fingerprint === undefined
          ? statement(db, `SELECT ${columns} FROM ${name} WHERE app_id = ? AND ${page}`).all(app, ...bounds)
          : statement(db, `SELECT ${columns} FROM ${name} WHERE app_id = ? AND fingerprint = ? AND ${page}`).all(app, q.fingerprint, ...bounds);
      out.push(...(rows as CrashRow[]));
    }
    return out;
  }

  /** The stored hash of a raw device id; null when there is no secret yet (then no device matches). */
  private deviceHash(raw: string): bigint | null {
    const secret = typeof this.opts.deviceSecret === 'function' ? this.opts.deviceSecret() : this.opts.deviceSecret;
    if (!secret) return null;
    if (this.hasher?.secret !== secret) this.hasher = { secret, hasher: new DeviceHasher(secret) };
    return this.hasher.hasher.hash(raw);
  }
}

/** Whether row a (in partition month ma) comes before row b in the tail's order. */
function before(a: EventRow, ma: string, b: EventRow, mb: string): boolean {
  const ra = a.received_at ?? 0;
  const rb = b.received_at ?? 0;
  if (ra !== rb) return ra < rb;
  if (ma !== mb) return ma < mb;
  return a.id < b.id;
}

function rawEvent(r: EventRow): RawEvent {
  return {
    event_id: uuidText(r.event_id),
    event_type: r.event_type,
    timestamp: r.timestamp,
    received_at: r.received_at,
    device: r.device,
    mosis_version: r.mosis_version,
    app_version: r.app_version,
    data: r.event_data ? (JSON.parse(r.event_data) as Record<string, unknown>) : null,
  };
}

interface CrashRow {
  month: string;
  id: number;
  crash_id: Buffer | null;
  device: string;
  timestamp: number;
  created_at: number;
  fingerprint: string;
  crash_type: string;
  app_version: string;
  message: string | null;
  stack_trace: string | null;
  context: string | null;
  mosis_version: string | null;
}

function rawCrash(r: CrashRow): RawCrash {
  return {
    id: `${r.month.replace('-', '')}-${r.id}`,
    crash_id: uuidText(r.crash_id),
    fingerprint: r.fingerprint,
    crash_type: r.crash_type,
    app_version: r.app_version,
    message: r.message,
    stack_trace: r.stack_trace,
    context: r.context ? (JSON.parse(r.context) as Record<string, unknown>) : null,
    mosis_version: r.mosis_version,
    device: r.device,
    timestamp: r.timestamp,
    received_at: r.created_at,
  };
}
