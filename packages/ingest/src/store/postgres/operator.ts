import { PgTelemetryMaintenance } from './maintenance.js';
import { openPgPool, redactUrl, type PgPool } from './pool.js';
import { pgDatabaseBytes, pgTelemetryStats, type PgTelemetryStats } from './stats.js';

/**
 * The telemetry store on PostgreSQL as an operator's command sees it (`ops rollup`, `prune`, `stats`):
 * maintenance on a small pool of its own, beside the running ingest processes (the lease keeps their
 * jobs and the command's from interleaving). Never migrates: the schema is ingest's (or telemetry-migrate's).
 */

/** One connection holds the lease for the run, one runs the job's statements. */
const OPS_PG_POOL_MAX = 2;

export interface PgOperatorSession {
  /** The URL with its password hidden, for output. */
  where: string;
  maintenance: PgTelemetryMaintenance;
  stats(): Promise<PgTelemetryStats>;
  databaseBytes(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Connects and checks the telemetry schema is there; a failure is one line naming the server (password
 * hidden) and what went wrong, for an operator, not a stack.
 */
export async function openPgOperatorSession(url: string, opts: { applicationName: string; now?: () => number }): Promise<PgOperatorSession> {
  const where = redactUrl(url);
  const pool: PgPool = openPgPool(url, { max: OPS_PG_POOL_MAX, applicationName: opts.applicationName });
  let migrated: boolean;
  try {
    const res = await pool.query<{ ok: boolean }>("SELECT to_regclass('job_runs') IS NOT NULL AND to_regclass('rollup_positions') IS NOT NULL AS ok");
    migrated = res.rows[0]!.ok;
  } catch (err) {
    await pool.end().catch(() => {});
    throw new Error(`telemetry on PostgreSQL (${where}): ${describePgError(err)}`, { cause: err });
  }
  if (!migrated) {
    await pool.end();
    throw new Error(`telemetry on PostgreSQL (${where}) lacks the telemetry schema: start ingest with TELEMETRY_DATABASE_URL once (it migrates), or run ops telemetry-migrate`);
  }
  const maintenance = new PgTelemetryMaintenance({ pool, ...(opts.now && { now: opts.now }) });
  return {
    where,
    maintenance,
    stats: () => pgTelemetryStats(pool, maintenance),
    databaseBytes: () => pgDatabaseBytes(pool),
    close: () => pool.end(),
  };
}

/** A driver error as one line: connecting to `localhost` may fail once per address (an AggregateError without a message). */
function describePgError(err: unknown): string {
  const e = err as Error & { code?: string; errors?: Error[] };
  if (e.message) return e.message;
  if (e.errors?.length) return [...new Set(e.errors.map((x) => x.message))].join('; ');
  return e.code ?? String(err);
}
