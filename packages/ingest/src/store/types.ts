import type { ReadyCheck } from '@mosis/shared';
import type { TelemetryMaintenance } from './maintenance.js';

/**
 * The telemetry store's interface: what the write path hands to storage, and what it gets back. Routes,
 * the write queue and the scheduler know only this (and store/maintenance.ts); store/sqlite/ and
 * store/postgres/ implement it.
 */

/** One validated event, ready to store. Strings are already checked against their limits. */
export interface EventRecord {
  /** The portal's apps.id (stable across package_id renames). */
  appId: string;
  packageId: string;
  /** First 64 bits of HMAC-SHA256(secret, raw device id), signed. */
  deviceHash: bigint;
  eventType: string;
  /** Unix ms, UTC, after clock correction. */
  timestamp: number;
  /** 16-byte UUID, or null when the device sent none (no idempotency then). */
  eventId: Buffer | null;
  mosisVersion: string | null;
  /** The app's own version as the device sent it (`app_version`), or null. */
  appVersion: string | null;
  /** JSON object text, or null for an empty or missing object. */
  data: string | null;
}

/** One validated crash report, ready to store. */
export interface CrashRecord {
  appId: string;
  packageId: string;
  deviceHash: bigint;
  timestamp: number;
  crashId: Buffer | null;
  fingerprint: string;
  crashType: string;
  appVersion: string;
  message: string | null;
  stackTrace: string | null;
  context: string | null;
  mosisVersion: string | null;
}

/** One request's rows: they are committed together (with other requests' rows) or not at all. */
export type WriteRequest = { kind: 'events'; rows: EventRecord[] } | { kind: 'crashes'; rows: CrashRecord[] };

/** A row the store refused while the rest of its request was stored. */
export interface RowRejection {
  /** Its index in the request's `rows`. */
  row: number;
  /** A new event type of an app that already has its most (MAX_EVENT_TYPES_PER_APP). */
  reason: 'event_type_limit';
  message: string;
}

/** What became of one request's rows. `stored + duplicates + rejected.length` is the number of rows handed in. */
export interface WriteResult {
  stored: number;
  duplicates: number;
  /** Rows refused, in row order; absent when none were. */
  rejected?: RowRejection[];
}

export interface TelemetryStore {
  /**
   * Stores the rows of several requests in one durable transaction (group commit). Returns one result per
   * request, in order, once the transaction has committed; throws (and stores nothing) if it cannot. Limits
   * that depend on what is stored (event types per app) are judged here, in the transaction, so they hold
   * exactly however many requests arrive at once; a row over such a limit is refused alone.
   */
  write(requests: readonly WriteRequest[]): WriteResult[];
  /** Forgets cached schema knowledge (partitions, dimensions) after someone else changed the schema. */
  invalidate(): void;
}

/**
 * The write path's view of storage: what the group-commit writer (write/group-commit.ts) calls. Asynchronous,
 * so an implementation may commit off the event loop (SQLite in a worker thread) or over the network
 * (PostgreSQL). `write` resolves once the rows are durable, with one result per request, in order; it rejects
 * (having stored nothing) if it cannot, and with a `WriterUnavailableError` if it cannot tell whether it did.
 */
export interface TelemetryWriter {
  write(requests: readonly WriteRequest[]): Promise<WriteResult[]>;
  /** Forgets cached schema knowledge (partitions, dimensions) after someone else changed the schema. */
  invalidate(): void;
  /** Ends the writer once the writes handed in so far have finished; later writes start it again. */
  close(): Promise<void>;
}

/**
 * The writer lost the writes in flight without knowing whether they committed (its thread or connection
 * died): they are answered 503, never 202, and not retried (an event without an id would be stored twice).
 */
export class WriterUnavailableError extends Error {
  override readonly name = 'WriterUnavailableError';
}

/** Everything ingest uses of where telemetry is stored (store/sqlite/sink.ts, store/postgres/sink.ts). */
export interface TelemetrySink {
  /** The group commits' writer. */
  store: TelemetryWriter;
  /** The scheduled jobs (rollup, retention) and their metrics. */
  maintenance: TelemetryMaintenance;
  /** Commits wait while this says so (SQLite: a WAL checkpoint, Litestream behind). */
  hold?: () => boolean;
  /** How often a held commit looks again (ms). */
  holdPollMs?: number;
  /** Readiness of the store (/readyz). */
  ready: ReadyCheck;
  /** After the writer has drained: ends what the sink runs beside the writer. */
  close(): Promise<void>;
}
