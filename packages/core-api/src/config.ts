import { ingestConfigSchema, telemetryDatabaseUrlSchema } from '@mosis/ingest';
import { baseConfigSchema, envBoolean, loadConfig } from '@mosis/shared';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { CORE_HTTP_REQUEST_TIMEOUT_MS, DEFAULT_MAX_PACKAGE_BYTES, DEFAULT_PACKAGE_GC_GRACE_HOURS } from './limits.js';

/** Where backups go when BACKUP_DIR is unset: beside the databases, as ops and Litestream assume. */
export const DEFAULT_BACKUP_SUBDIR = 'backups';

/** Core API settings: the shared ones plus what only the developer-facing API needs. */
export const coreConfigSchema = baseConfigSchema.extend({
  /** Longest time to receive a whole request: long enough for a package upload on a slow link. */
  HTTP_REQUEST_TIMEOUT_MS: baseConfigSchema.shape.HTTP_REQUEST_TIMEOUT_MS.removeDefault().default(CORE_HTTP_REQUEST_TIMEOUT_MS),
  /** Guards /v1/admin/*; admin routes answer 404 while it is unset. */
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * Behind a reverse proxy: take the client IP (audit log, rate limits) from the last X-Forwarded-For entry,
   * the one the proxy appended. Off by default, since any client can send that header.
   */
  TRUST_PROXY: envBoolean.default(false),
  /** Largest package upload, in bytes. */
  MAX_PACKAGE_BYTES: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(DEFAULT_MAX_PACKAGE_BYTES),
  /** Hours a package no version references any more is kept before its file is removed. */
  PACKAGE_GC_GRACE_HOURS: z.coerce.number().min(0).max(24 * 365).default(DEFAULT_PACKAGE_GC_GRACE_HOURS),
  /**
   * The device-id HMAC key, as ingest has it (analytics hash a `device_id` filter with it); unset, the core API
   * reads DATA_DIR/device-hash.secret, which ingest creates: it never creates one itself.
   */
  DEVICE_HASH_SECRET: ingestConfigSchema.shape.DEVICE_HASH_SECRET,
  /**
   * Telemetry on PostgreSQL (as ingest's): analytics then read it there, on a small read-only pool, and
   * every app change is published into its app_registry for ingest processes without portal.db.
   * Unset: telemetry.db in DATA_DIR.
   */
  TELEMETRY_DATABASE_URL: telemetryDatabaseUrlSchema,
  /** Days of raw events and crashes kept (as ingest's): raw analytics answer within them. */
  RETENTION_DAYS: ingestConfigSchema.shape.RETENTION_DAYS,
  /** Local backups (Litestream replicas, package copies); default DATA_DIR/backups, as for ops. */
  BACKUP_DIR: z.string().min(1).optional(),
  /**
   * The origin devices reach this API at (e.g. https://portal.example.com), for the download URLs in the
   * catalog; unset, the origin of each request is used.
   */
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
});

export type CoreConfig = z.infer<typeof coreConfigSchema>;

export function loadCoreConfig(env: NodeJS.ProcessEnv = process.env): CoreConfig {
  return loadConfig(coreConfigSchema, env);
}

/** BACKUP_DIR, absolute, with its default (DATA_DIR/backups). */
export function backupDir(config: Pick<CoreConfig, 'DATA_DIR' | 'BACKUP_DIR'>): string {
  const dir = config.BACKUP_DIR ?? join(config.DATA_DIR, DEFAULT_BACKUP_SUBDIR);
  return isAbsolute(dir) ? dir : resolve(dir);
}

/** PACKAGE_GC_GRACE_HOURS in milliseconds. */
export function packageGcGraceMs(config: Pick<CoreConfig, 'PACKAGE_GC_GRACE_HOURS'>): number {
  return config.PACKAGE_GC_GRACE_HOURS * 60 * 60 * 1000;
}
