import type { DB } from '@mosis/shared';
import type { Statement } from 'better-sqlite3';
import { MONTH_EDGE_DEDUP_MS } from '../../limits.js';
import { ensurePartition, listPartitions } from './partitions.js';
import { partitionName, type PartitionKind } from '../partitions.js';
import type { CrashRecord, EventRecord, RowRejection, TelemetryStore, WriteRequest, WriteResult } from '../types.js';

const DAY_MS = 86_400_000;

/** Per UTC day: its name and its month's bounds (cached, every row needs them). */
interface DayInfo {
  /** Day number: timestamp / 86400000, as the events index has it. */
  n: number;
  day: string;
  month: string;
  monthStart: number;
  nextMonthStart: number;
  prevMonth: string;
  nextMonth: string;
}

/** Event rows per multi-row INSERT: one statement call per chunk costs ~25% less CPU than one per row. */
const INSERT_CHUNK_ROWS = 32;
/** (app, device, day) presence answers remembered; cleared whole at this size. */
const DEVICE_DAY_CACHE_ENTRIES = 200_000;
const EVENT_COLUMNS = 9;

/** A device's presence in the days around a row's day (see SqliteTelemetryStore.neighbours). */
interface Neighbours {
  info: DayInfo;
  prefix: string;
  /** deviceDaysGen before it was read. */
  gen: number;
  prev: DayInfo;
  next: DayInfo;
  inPrev: boolean;
  inNext: boolean;
}

interface Partition {
  name: string;
  insert: Statement;
  /** Multi-row event inserts by row count (1..INSERT_CHUNK_ROWS), prepared on first use. */
  chunks: Map<number, Statement>;
  /** Crashes: finds a row by (app_id, device_id, crash_id). */
  hasId: Statement;
  /** Events: finds (app_id, day number in (?, ?), device_id, event_id), i.e. in two other days. */
  hasEventInDays: Statement;
  /** Events: does (app_id, day number, device_id) have any row? */
  hasDeviceInDay: Statement;
}

export interface StoreOptions {
  /** Distinct event types an app may have; a row of a new type beyond it is refused (`event_type_limit`). */
  maxEventTypesPerApp: number;
  /** Server clock (Unix ms) read once per commit for the rows' `received_at`; default Date.now. */
  now?: () => number;
}

/** Ids seen in one transaction, by a 32-bit mix of their bytes (see SqliteTelemetryStore.repeated). */
interface SeenIds {
  /** The first row with each mix (kept whole: no object per row). */
  first: Map<number, EventRecord | CrashRecord>;
  /** Exact keys of the ids whose mix another id shares (rare, unless crafted). */
  exact: Set<string>;
}

/**
 * The telemetry store on SQLite (telemetry.db): month partitions (partitions.ts), dimension ids for apps
 * and event types, each app's event types (`app_event_types`, bounded per app), idempotency through a unique
 * index on (app, device, event_id / crash_id). The rollup finds new rows by id (store/sqlite/rollup.ts), so a commit
 * writes nothing but its rows. All writes are synchronous better-sqlite3 transactions on the one connection, so
 * nothing else can interleave with them in this process.
 */
export class SqliteTelemetryStore implements TelemetryStore {
  private apps = new Map<string, { id: number; packageId: string }>();
  private eventTypes = new Map<string, number>();
  /** Per dim_apps.id, its event types (name to dim_event_types.id), loaded on the app's first row. */
  private appTypes = new Map<number, Map<string, number>>();
  /** Event and crash ids handed in during the current transaction. */
  private readonly seen: Record<PartitionKind, SeenIds> = { events: { first: new Map(), exact: new Set() }, crashes: { first: new Map(), exact: new Set() } };
  private partitions = new Map<string, Partition>();
  private known = new Set<string>();
  private days = new Map<number, DayInfo>();
  /**
   * Whether an (app, device, day) has any event row: most devices have none in the neighbouring days of a
   * new event (never in tomorrow, often not in yesterday), and then no per-row lookup is needed. Only this
   * writer adds rows, and it marks what it adds, so a remembered "none" stays true until invalidate().
   */
  private deviceDays = new Map<string, boolean>();
  /** Bumped whenever deviceDays is cleared: answers read from it before then may be gone. */
  private deviceDaysGen = 0;
  private schemaVersion = -1;
  /** `received_at` of the rows of the transaction being written: one server time per commit. */
  private receivedAt = 0;
  private readonly stmt;

  constructor(
    private readonly db: DB,
    private readonly opts: StoreOptions,
  ) {
    this.stmt = {
      schemaVersion: db.prepare('PRAGMA schema_version').pluck(),
      upsertApp: db
        .prepare(
          `INSERT INTO dim_apps (app_id, package_id) VALUES (?, ?)
           ON CONFLICT (app_id) DO UPDATE SET package_id = excluded.package_id RETURNING id`,
        )
        .pluck(),
      findEventType: db.prepare('SELECT id FROM dim_event_types WHERE name = ?').pluck(),
      addEventType: db.prepare('INSERT INTO dim_event_types (name) VALUES (?) RETURNING id').pluck(),
      appTypes: db.prepare(
        'SELECT t.name, t.id FROM app_event_types a JOIN dim_event_types t ON t.id = a.event_type WHERE a.app_id = ?',
      ).raw(),
      addAppType: db.prepare('INSERT INTO app_event_types (app_id, event_type) VALUES (?, ?)'),
    };
  }

  invalidate(): void {
    this.apps.clear();
    this.eventTypes.clear();
    this.appTypes.clear();
    this.partitions.clear();
    this.known.clear();
    this.deviceDays.clear();
    this.deviceDaysGen++;
    this.schemaVersion = -1;
  }

  write(requests: readonly WriteRequest[]): WriteResult[] {
    // Someone else (a migration, retention dropping a partition) changed the schema: reload what we cache.
    if (this.stmt.schemaVersion.get() !== this.schemaVersion) this.invalidate();
    if (this.schemaVersion === -1) this.load();
    try {
      for (const kind of ['events', 'crashes'] as const) {
        this.seen[kind].first.clear();
        this.seen[kind].exact.clear();
      }
      this.receivedAt = (this.opts.now ?? Date.now)();
      const results = this.db
        .transaction(() => requests.map((r) => (r.kind === 'events' ? this.writeEvents(r.rows) : this.writeCrashes(r.rows))))
        .immediate();
      this.schemaVersion = this.stmt.schemaVersion.get() as number;
      return results;
    } catch (err) {
      // Dimension ids and partitions created inside the rolled-back transaction do not exist.
      this.invalidate();
      throw err;
    }
  }

  private load(): void {
    for (const p of listPartitions(this.db)) this.known.add(p.name);
    this.schemaVersion = this.stmt.schemaVersion.get() as number;
  }

  private writeEvents(rows: EventRecord[]): WriteResult {
    let stored = 0;
    // Rows wait here per partition and go in as multi-row INSERTs; a row's `changes` share is 0 for a
    // duplicate, so the request's stored count is the sum over its chunks.
    const pending = new Map<Partition, unknown[]>();
    // A request's rows mostly share a month, an app, a device and a day: what follows from them is
    // worked out again only when they change (measured: 12% less CPU per event in batches of 100).
    let month: string | undefined;
    let part: Partition | undefined;
    let prefixApp = -1;
    let prefixDevice: bigint | undefined;
    let prefix = '';
    // Whether the device has rows in the days before and after: read once for a run of rows with one
    // device and day, and again whenever deviceDays changed since (cleared, or a day marked below).
    let near: Neighbours | undefined;
    let typesApp = -1;
    let types: Map<string, number> | undefined;
    let rejected: RowRejection[] | undefined;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const app = this.appId(r.appId, r.packageId);
      if (app !== typesApp || !types) {
        types = this.typesOf(app);
        typesApp = app;
      }
      const type = types.get(r.eventType) ?? this.addType(app, types, r.eventType);
      if (type === undefined) {
        (rejected ??= []).push({ row: i, reason: 'event_type_limit', message: `the app already has ${this.opts.maxEventTypesPerApp} event types; a new one is not accepted` });
        continue;
      }
      const info = this.dayInfo(r.timestamp);
      if (info.month !== month || !part) {
        part = this.partition('events', info.month);
        month = info.month;
      }
      if (app !== prefixApp || r.deviceHash !== prefixDevice) {
        prefix = deviceKeyPrefix(app, r.deviceHash);
        prefixApp = app;
        prefixDevice = r.deviceHash;
      }
      if (r.eventId) {
        // The same id earlier in this transaction, in any day: the index sees a repeat only within its day.
        if (this.repeated('events', r, r.eventId)) continue;
        if (!near || near.info !== info || near.prefix !== prefix || near.gen !== this.deviceDaysGen) {
          near = this.neighbours(app, r.deviceHash, prefix, info);
        }
        if ((near.inPrev || near.inNext) && this.inNeighbourDays(app, r.deviceHash, r.eventId, near)) continue;
      }
      let params = pending.get(part);
      if (!params) pending.set(part, (params = []));
      params.push(app, r.deviceHash, type, r.timestamp, r.eventId, r.mosisVersion, r.data, r.appVersion, this.receivedAt);
      const key = prefix + info.n;
      if (this.deviceDays.get(key) === false) {
        this.deviceDays.set(key, true);
        near = undefined;
      }
      if (params.length === INSERT_CHUNK_ROWS * EVENT_COLUMNS) {
        stored += this.insertChunk(part, params);
        params.length = 0;
      }
    }
    for (const [part, params] of pending) if (params.length) stored += this.insertChunk(part, params);
    if (!rejected) return { stored, duplicates: rows.length - stored };
    return { stored, duplicates: rows.length - stored - rejected.length, rejected };
  }

  /** An app's event types, read from app_event_types on its first row. */
  private typesOf(app: number): Map<string, number> {
    let types = this.appTypes.get(app);
    if (!types) {
      types = new Map(this.stmt.appTypes.all(app) as Array<[string, number]>);
      this.appTypes.set(app, types);
    }
    return types;
  }

  /** Registers a new event type of an app, in this transaction; undefined when the app has its most already. */
  private addType(app: number, types: Map<string, number>, name: string): number | undefined {
    // Checked before the type gets a dimension id, so refused names never reach the database.
    if (types.size >= this.opts.maxEventTypesPerApp) return undefined;
    const id = this.eventType(name);
    this.stmt.addAppType.run(app, id);
    types.set(name, id);
    return id;
  }

  /**
   * Whether an id of this (app, device) was handed in earlier in this transaction. Keyed by a mix of the
   * id's bytes (no string per row); ids that share a mix fall back to exact string keys.
   */
  private repeated(kind: PartitionKind, r: EventRecord | CrashRecord, id: Buffer): boolean {
    const seen = this.seen[kind];
    const mix = id.readInt32LE(0) ^ id.readInt32LE(4) ^ id.readInt32LE(8) ^ id.readInt32LE(12);
    const first = seen.first.get(mix);
    if (!first) {
      seen.first.set(mix, r);
      return false;
    }
    const firstId = (kind === 'events' ? (first as EventRecord).eventId : (first as CrashRecord).crashId)!;
    if (first.appId === r.appId && first.deviceHash === r.deviceHash && firstId.equals(id)) return true;
    seen.exact.add(exactKey(first.appId, first.deviceHash, firstId));
    const key = exactKey(r.appId, r.deviceHash, id);
    if (seen.exact.has(key)) return true;
    seen.exact.add(key);
    return false;
  }

  private insertChunk(part: Partition, params: unknown[]): number {
    const n = params.length / EVENT_COLUMNS;
    let stmt = part.chunks.get(n);
    if (!stmt) {
      // Table names cannot be bound; `part.name` comes from partitionName, which accepts only YYYY-MM.
      stmt = this.db.prepare(
        `INSERT INTO ${part.name} (app_id, device_id, event_type, timestamp, event_id, mosis_version, event_data, app_version, received_at)
         VALUES ${Array(n).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING`,
      );
      part.chunks.set(n, stmt);
    }
    return stmt.run(params).changes;
  }

  private writeCrashes(rows: CrashRecord[]): WriteResult {
    let stored = 0;
    const now = this.receivedAt;
    for (const r of rows) {
      const app = this.appId(r.appId, r.packageId);
      const info = this.dayInfo(r.timestamp);
      const part = this.partition('crashes', info.month);
      if (r.crashId && (this.repeated('crashes', r, r.crashId) || this.inNeighbourMonth(app, r.deviceHash, r.crashId, r.timestamp, info))) continue;
      const res = part.insert.run(
        app,
        r.deviceHash,
        r.timestamp,
        r.crashId,
        r.fingerprint,
        r.crashType,
        r.appVersion,
        r.message,
        r.stackTrace,
        r.context,
        r.mosisVersion,
        now,
      );
      if (res.changes === 0) continue;
      stored++;
    }
    return { stored, duplicates: rows.length - stored };
  }

  /**
   * A retry's corrected timestamp can differ from the first attempt's (its sent_at, or the device clock,
   * changed), so the same event may already be stored under the previous or the next UTC day; the unique
   * index catches it only within its own day. Neighbour days in another month are in that partition.
   */
  private inNeighbourDays(app: number, device: bigint, id: Buffer, { prev, next, inPrev, inNext }: Neighbours): boolean {
    if (inPrev && inNext && prev.month === next.month) {
      return this.partition('events', prev.month).hasEventInDays.get(app, prev.n, next.n, device, id) !== undefined;
    }
    for (const [d, has] of [[prev, inPrev], [next, inNext]] as const) {
      if (has && this.partition('events', d.month).hasEventInDays.get(app, d.n, d.n, device, id) !== undefined) return true;
    }
    return false;
  }

  /** Whether (app, device) has any event in the days around `info` (`prefix` is their deviceKeyPrefix). */
  private neighbours(app: number, device: bigint, prefix: string, info: DayInfo): Neighbours {
    // Read before: a clear between the two lookups must make the answer stale at once.
    const gen = this.deviceDaysGen;
    const prev = this.dayInfo((info.n - 1) * DAY_MS);
    const next = this.dayInfo((info.n + 1) * DAY_MS);
    const inPrev = this.deviceHasDay(app, device, prefix, prev);
    const inNext = this.deviceHasDay(app, device, prefix, next);
    return { info, prefix, gen, prev, next, inPrev, inNext };
  }

  /** Whether (app, device) has any event in day `d` (remembered; see deviceDays). `prefix` is their deviceKeyPrefix. */
  private deviceHasDay(app: number, device: bigint, prefix: string, d: DayInfo): boolean {
    const key = prefix + d.n;
    let has = this.deviceDays.get(key);
    if (has === undefined) {
      has = this.known.has(partitionName('events', d.month)) && this.partition('events', d.month).hasDeviceInDay.get(app, d.n, device) !== undefined;
      if (this.deviceDays.size >= DEVICE_DAY_CACHE_ENTRIES) {
        this.deviceDays.clear();
        this.deviceDaysGen++;
      }
      this.deviceDays.set(key, has);
    }
    return has;
  }

  /** Crashes: near a month boundary, the same crash_id may sit in the neighbouring month's partition. */
  private inNeighbourMonth(app: number, device: bigint, id: Buffer, ts: number, info: DayInfo): boolean {
    let month: string | undefined;
    if (ts - info.monthStart < MONTH_EDGE_DEDUP_MS) month = info.prevMonth;
    else if (info.nextMonthStart - ts <= MONTH_EDGE_DEDUP_MS) month = info.nextMonth;
    if (!month || !this.known.has(partitionName('crashes', month))) return false;
    return this.partition('crashes', month).hasId.get(app, device, id) !== undefined;
  }

  private partition(kind: PartitionKind, month: string): Partition {
    const name = partitionName(kind, month);
    let p = this.partitions.get(name);
    if (!p) {
      if (!this.known.has(name)) ensurePartition(this.db, kind, month);
      this.known.add(name);
      // Table names cannot be bound; `name` comes from partitionName, which accepts only YYYY-MM.
      p = {
        name,
        chunks: new Map(),
        insert: this.db.prepare(
          kind === 'events'
            ? `INSERT INTO ${name} (app_id, device_id, event_type, timestamp, event_id, mosis_version, event_data, app_version, received_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
            : `INSERT INTO ${name} (app_id, device_id, timestamp, crash_id, fingerprint, crash_type, app_version,
                 message, stack_trace, context, mosis_version, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        ),
        hasId: this.db.prepare(
          kind === 'crashes' ? `SELECT 1 FROM ${name} WHERE app_id = ? AND device_id = ? AND crash_id = ?` : 'SELECT NULL WHERE 0',
        ).pluck(),
        hasEventInDays: this.db.prepare(
          kind === 'events'
            ? `SELECT 1 FROM ${name} WHERE app_id = ? AND timestamp / 86400000 IN (?, ?) AND device_id = ? AND event_id = ?`
            : 'SELECT NULL WHERE 0',
        ).pluck(),
        hasDeviceInDay: this.db.prepare(
          kind === 'events'
            ? `SELECT 1 FROM ${name} WHERE app_id = ? AND timestamp / 86400000 = ? AND device_id = ? LIMIT 1`
            : 'SELECT NULL WHERE 0',
        ).pluck(),
      };
      this.partitions.set(name, p);
    }
    return p;
  }

  private appId(portalId: string, packageId: string): number {
    const cached = this.apps.get(portalId);
    if (cached && cached.packageId === packageId) return cached.id;
    const id = this.stmt.upsertApp.get(portalId, packageId) as number;
    this.apps.set(portalId, { id, packageId });
    return id;
  }

  private eventType(name: string): number {
    let id = this.eventTypes.get(name);
    if (id === undefined) {
      id = (this.stmt.findEventType.get(name) as number | undefined) ?? (this.stmt.addEventType.get(name) as number);
      this.eventTypes.set(name, id);
    }
    return id;
  }

  private dayInfo(ts: number): DayInfo {
    const n = Math.floor(ts / DAY_MS);
    let info = this.days.get(n);
    if (!info) {
      const d = new Date(n * DAY_MS);
      const y = d.getUTCFullYear();
      const m = d.getUTCMonth();
      const monthStart = Date.UTC(y, m, 1);
      const nextMonthStart = Date.UTC(y, m + 1, 1);
      info = {
        n,
        day: d.toISOString().slice(0, 10),
        month: d.toISOString().slice(0, 7),
        monthStart,
        nextMonthStart,
        prevMonth: new Date(Date.UTC(y, m - 1, 1)).toISOString().slice(0, 7),
        nextMonth: new Date(nextMonthStart).toISOString().slice(0, 7),
      };
      // Days in the accepted window are few (~115); anything else is bounded by clearing.
      if (this.days.size > 1_000) this.days.clear();
      this.days.set(n, info);
    }
    return info;
  }
}

/** An id's exact key in SeenIds.exact. */
function exactKey(appId: string, device: bigint, id: Buffer): string {
  return `${appId}:${device}:${id.toString('hex')}`;
}

/** The start of a deviceDays key, `app:device:`; the day number follows. */
function deviceKeyPrefix(app: number, device: bigint): string {
  return `${app}:${device}:`;
}
