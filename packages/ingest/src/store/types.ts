/**
 * The telemetry store's interface: what the write path hands to storage, and what it gets back. Routes and
 * the write queue know only this; `sqlite-store.ts` is today's implementation.
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

/** What became of one request's rows. `stored + duplicates` is the number of rows handed in. */
export interface WriteResult {
  stored: number;
  duplicates: number;
}

export interface TelemetryStore {
  /**
   * Stores the rows of several requests in one durable transaction (group commit). Returns one result per
   * request, in order, once the transaction has committed; throws (and stores nothing) if it cannot.
   */
  write(requests: readonly WriteRequest[]): WriteResult[];
  /** Forgets cached schema knowledge (partitions, dimensions) after someone else changed the schema. */
  invalidate(): void;
}
