/**
 * What the core API may read of telemetry: the one seam between the developer API and the telemetry
 * store. The store that writes the tables (SQLite today in store/sqlite/, PostgreSQL later) is the only
 * code that knows their physical layout (partitions, dimension ids, sketches); callers get plain values.
 * Every method is async and bounded (ranges and item counts are capped by the caller's validated query,
 * and each implementation caps its own scans), so a second, remote backend fits the same shape.
 *
 * Ids: `appId` is the portal's apps.id. Days are UTC `YYYY-MM-DD`; times are Unix milliseconds (UTC).
 * Devices are never raw ids: `device` in answers is the stored keyed hash (16 hex digits), and a raw id in
 * a query is hashed by the store with the deployment's device-hash secret.
 */

/** A UTC day, `YYYY-MM-DD`. */
export type Day = string;

export interface DayRange {
  appId: string;
  /** First day, included. */
  from: Day;
  /** Last day, included. */
  to: Day;
}

/** One row of the daily series (telemetry_daily). */
export interface DailyCount {
  date: Day;
  event_type: string;
  count: number;
  /** Distinct devices that sent this event type that day (exact up to 1,000; within 2% beyond). */
  unique_devices: number;
}

export type DeviceInterval = 'day' | 'week' | 'month';

export interface ActiveDevices {
  /**
   * One item per period overlapping the range, oldest first, named by its first day (weeks start on
   * Monday, ISO); a period at an end of the range counts only its days within the range.
   */
  items: { period_start: Day; devices: number }[];
  /** Distinct devices over the whole range (not a sum of the periods). */
  total_devices: number;
}

/** What a breakdown groups by: a dimension kept in the daily aggregates, or a top-level key of `data`. */
export type BreakdownBy =
  | { kind: 'event_type' }
  | { kind: 'mosis_version' }
  | { kind: 'app_version' }
  | { kind: 'data'; key: string };

export interface Breakdown {
  /** Most frequent first (ties by value); `value` null = the event did not carry it. */
  items: { value: string | null; count: number; devices: number }[];
  /** Events of the values past `limit`, summed. */
  other_count: number;
}

export interface Summary {
  events: number;
  /** Distinct devices that sent events or crashes in the range. */
  devices: number;
  crashes: number;
  crashed_devices: number;
  /** 100 × (devices without a crash) / devices, or null when there were no devices. */
  crash_free_devices_pct: number | null;
  top_event_types: { event_type: string; count: number }[];
}

/** One stored event as the API shows it. */
export interface RawEvent {
  event_id: string | null;
  event_type: string;
  timestamp: number;
  /** When the server stored it; null for events stored before telemetry migration 0005 (no such column then). */
  received_at: number | null;
  /** The stored device hash, 16 hex digits. */
  device: string;
  mosis_version: string | null;
  app_version: string | null;
  data: Record<string, unknown> | null;
}

export interface EventsQuery {
  appId: string;
  /** Times (ms), both included; the store also clamps them to the raw retention. */
  fromMs: number;
  toMs: number;
  eventType?: string;
  /** A raw device id, hashed by the store. */
  deviceId?: string;
  limit: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

export interface EventsPage {
  /** Newest first. */
  items: RawEvent[];
  next_cursor: string | null;
  /** The storage position now: pass it as `after` to tail what is stored from here on. */
  head: string;
}

export interface TailQuery {
  appId: string;
  /** A `head` from an earlier answer. */
  after: string;
  limit: number;
}

export interface TailPage {
  /** Events stored after `after`, oldest first: each stored event appears in exactly one page. */
  items: RawEvent[];
  head: string;
}

export interface CrashGroup {
  fingerprint: string;
  crash_type: string;
  message: string | null;
  count: number;
  /** Distinct devices over the whole range. */
  devices: number;
  first_seen: number;
  last_seen: number;
  app_versions: string[];
}

export interface RawCrash {
  /** Stable id of the stored report. */
  id: string;
  crash_id: string | null;
  fingerprint: string;
  crash_type: string;
  app_version: string;
  message: string | null;
  stack_trace: string | null;
  context: Record<string, unknown> | null;
  mosis_version: string | null;
  device: string;
  timestamp: number;
  received_at: number;
}

export interface CrashesQuery {
  appId: string;
  fingerprint?: string;
  limit: number;
  cursor?: string;
}

/** A cursor or head that this store did not give out (or no longer can use): the caller answers 400. */
export class InvalidPositionError extends Error {
  constructor(what: 'cursor' | 'head', options?: { cause?: unknown }) {
    super(`${what}: not a ${what} this list gave out`, options);
    this.name = 'InvalidPositionError';
  }
}

export interface TelemetryReads {
  /** telemetry_daily rows of the range (optionally one event type), by date then event type. */
  dailyCounts(q: DayRange & { eventType?: string }): Promise<DailyCount[]>;
  /**
   * Distinct event types with rows in the range: lets the caller bound an answer before building it. With
   * `cap`, counting stops past it (the answer is then cap + 1), so refusing a big answer costs no more
   * than giving a small one.
   */
  eventTypeCount(q: DayRange & { cap?: number }): Promise<number>;
  activeDevices(q: DayRange & { interval: DeviceInterval }): Promise<ActiveDevices>;
  breakdown(q: DayRange & { by: BreakdownBy; eventType?: string; limit: number }): Promise<Breakdown>;
  summary(q: DayRange & { topEventTypes: number }): Promise<Summary>;
  events(q: EventsQuery): Promise<EventsPage>;
  tail(q: TailQuery): Promise<TailPage>;
  /** Most frequent first. */
  crashGroups(q: DayRange & { limit: number }): Promise<CrashGroup[]>;
  /** Newest first, within the raw retention. */
  crashes(q: CrashesQuery): Promise<{ items: RawCrash[]; next_cursor: string | null }>;
  close(): Promise<void>;
}

/** The TelemetryReads answered from the daily aggregates (and, for `data.KEY`, from raw rows). */
export type AggregateReads = Pick<TelemetryReads, 'dailyCounts' | 'eventTypeCount' | 'activeDevices' | 'breakdown' | 'summary' | 'crashGroups'>;

/** The TelemetryReads answered from raw rows. */
export type RawReads = Pick<TelemetryReads, 'events' | 'tail' | 'crashes'>;

/**
 * TelemetryReads as each backend makes them: its aggregate reads and its raw reads, side by side. A backend
 * extends this with what only it knows (its connection, readiness, memory at rest, close).
 */
export abstract class SplitTelemetryReads implements TelemetryReads {
  protected constructor(
    private readonly aggregates: AggregateReads,
    private readonly raw: RawReads,
  ) {}

  dailyCounts: TelemetryReads['dailyCounts'] = (q) => this.aggregates.dailyCounts(q);
  eventTypeCount: TelemetryReads['eventTypeCount'] = (q) => this.aggregates.eventTypeCount(q);
  activeDevices: TelemetryReads['activeDevices'] = (q) => this.aggregates.activeDevices(q);
  breakdown: TelemetryReads['breakdown'] = (q) => this.aggregates.breakdown(q);
  summary: TelemetryReads['summary'] = (q) => this.aggregates.summary(q);
  crashGroups: TelemetryReads['crashGroups'] = (q) => this.aggregates.crashGroups(q);
  events: TelemetryReads['events'] = (q) => this.raw.events(q);
  tail: TelemetryReads['tail'] = (q) => this.raw.tail(q);
  crashes: TelemetryReads['crashes'] = (q) => this.raw.crashes(q);

  abstract close(): Promise<void>;
}
