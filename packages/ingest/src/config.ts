import { baseConfigSchema, loadConfig } from '@mosis/shared';
import { z } from 'zod';
import { telemetryDatabaseUrlSchema } from './store/postgres/config.js';
import {
  DEFAULT_APP_CACHE_REFRESH_MS,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_FLUSH_MAX_EVENTS,
  DEFAULT_MAX_BODY_BYTES_IN_FLIGHT,
  DEFAULT_QUEUE_MAX_BYTES,
  DEFAULT_TELEMETRY_CACHE_MIB,
  DEFAULT_WAL_MAX_MIB,
  DEFAULT_QUEUE_MAX_EVENTS,
  DEFAULT_MAX_EVENT_TYPES_PER_APP,
  DEFAULT_PG_POOL_MAX,
  RAW_RETENTION_DAYS,
} from './limits.js';

/** Ingest settings: the shared ones plus the write path's (defaults and units in limits.ts). */
export const ingestConfigSchema = baseConfigSchema.extend({
  /** Key for the device-id HMAC. Generated and kept in DATA_DIR on first start when unset. */
  DEVICE_HASH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Events waiting for a commit above which new requests get 503 + Retry-After. */
  INGEST_QUEUE_MAX_EVENTS: z.coerce.number().int().min(1_000).max(1_000_000).default(DEFAULT_QUEUE_MAX_EVENTS),
  /** Body bytes waiting for a commit above which new requests get 503 + Retry-After. */
  INGEST_QUEUE_MAX_BYTES: z.coerce.number().int().min(4 * 1024 * 1024).default(DEFAULT_QUEUE_MAX_BYTES),
  /** Bytes of request bodies read and parsed at once above which new requests get 503 + Retry-After. */
  INGEST_MAX_BODY_BYTES_IN_FLIGHT: z.coerce.number().int().min(4 * 1024 * 1024).default(DEFAULT_MAX_BODY_BYTES_IN_FLIGHT),
  /** Events that trigger an immediate flush (group commit size). */
  INGEST_FLUSH_MAX_EVENTS: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_FLUSH_MAX_EVENTS),
  /** Milliseconds a queued request waits at most for more requests to share its commit. */
  INGEST_FLUSH_INTERVAL_MS: z.coerce.number().int().min(0).max(1_000).default(DEFAULT_FLUSH_INTERVAL_MS),
  /**
   * SQLite page cache of the telemetry.db connection, MiB. Counts fully in the process's RSS; pages beyond
   * it come from the OS file cache (a syscall, not a disk read).
   */
  TELEMETRY_CACHE_MIB: z.coerce.number().int().min(2).max(1024).default(DEFAULT_TELEMETRY_CACHE_MIB),
  /**
   * Under Litestream (LITESTREAM=true): MiB of WAL above which commits wait for Litestream to copy and
   * checkpoint it, so a load faster than replication fills the queue (503) instead of the disk.
   */
  INGEST_WAL_MAX_MIB: z.coerce.number().int().min(8).max(4096).default(DEFAULT_WAL_MAX_MIB),
  /** Milliseconds between checks of portal.db for new or suspended apps. */
  APP_CACHE_REFRESH_MS: z.coerce.number().int().min(50).max(60_000).default(DEFAULT_APP_CACHE_REFRESH_MS),
  /**
   * Days of raw events and crashes kept. Retention prunes by it and ingest rejects older timestamps by it,
   * so an event is never accepted into a day that retention has already pruned (and would not count).
   */
  RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(RAW_RETENTION_DAYS),
  /**
   * Distinct event types an app may have (contract); an event of a new type beyond it is rejected with
   * `event_type_limit`, known types keep working. Bounds what analytics must answer per app and day.
   */
  MAX_EVENT_TYPES_PER_APP: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_MAX_EVENT_TYPES_PER_APP),
  /**
   * Telemetry on PostgreSQL (postgres://user:password@host:port/database): raw partitions, aggregates,
   * rollup and retention there instead of telemetry.db, and several ingest processes may serve at once;
   * apps come from its app_registry (published by the core API), so ingest needs no portal.db. Unset: SQLite.
   */
  TELEMETRY_DATABASE_URL: telemetryDatabaseUrlSchema,
  /** Connections per ingest process to TELEMETRY_DATABASE_URL (group commit, maintenance, reads). */
  TELEMETRY_PG_POOL_MAX: z.coerce.number().int().min(2).max(64).default(DEFAULT_PG_POOL_MAX),
});

export type IngestConfig = z.infer<typeof ingestConfigSchema>;

export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  return loadConfig(ingestConfigSchema, env);
}
