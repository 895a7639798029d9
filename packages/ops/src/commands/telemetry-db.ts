import { loadTelemetryDatabaseUrl, openPgOperatorSession, type PgOperatorSession } from '@mosis/ingest';
import { databasePath, loadConfig, openDatabase, type BaseConfig, type DB } from '@mosis/shared';
import { existsSync } from 'node:fs';
import { z } from 'zod';

/** How long `ops rollup` / `ops prune` wait for a scheduled job of the running ingest service to finish. */
export const LEASE_WAIT_MS = 60_000;

const leaseWaitSchema = z.object({
  /** Overrides LEASE_WAIT_MS (0: do not wait, fail at once when a job is running). */
  OPS_LEASE_WAIT_MS: z.coerce.number().int().min(0).max(3_600_000).default(LEASE_WAIT_MS),
});

/** LEASE_WAIT_MS, or OPS_LEASE_WAIT_MS when set (a bad value is a ConfigError, exit 2). */
export function leaseWaitMs(): number {
  return loadConfig(leaseWaitSchema).OPS_LEASE_WAIT_MS;
}

/**
 * Where telemetry lives, as the services decide it: TELEMETRY_DATABASE_URL set (PostgreSQL), else telemetry.db
 * (undefined). A bad value is a ConfigError, exit 2. Each command asks once, then takes one path.
 */
export function telemetryDatabaseUrl(): string | undefined {
  return loadTelemetryDatabaseUrl();
}

/** Connects the jobs' ops commands to telemetry on PostgreSQL (which must be migrated: ingest does it at start). */
export function openPgForJobs(url: string): Promise<PgOperatorSession> {
  return openPgOperatorSession(url, { applicationName: 'mosis-ops' });
}

/**
 * Opens telemetry.db for the jobs' ops commands. The file must exist and be migrated (the ingest service
 * does that at start, or `ops migrate up --db telemetry`): a command never creates an empty database.
 */
export function openTelemetryForJobs(config: BaseConfig, opts: { readonly?: boolean } = {}): DB {
  const path = databasePath(config.DATA_DIR, 'telemetry');
  if (!existsSync(path)) throw new Error(`${path} does not exist yet (start ingest once, or run: ops migrate up --db telemetry)`);
  const db = openDatabase(path, { readonly: opts.readonly, litestream: config.LITESTREAM });
  const migrated = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'job_runs'").get();
  if (!migrated) {
    db.close();
    throw new Error(`${path} lacks the rollup tables: run ops migrate up --db telemetry`);
  }
  return db;
}

/** `1234567` → `1.2 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(1)} ${units[u]}`;
}

/** Unix ms → ISO time, or `never`. */
export function formatTime(ms: number | null | undefined): string {
  return ms == null ? 'never' : new Date(ms).toISOString();
}
