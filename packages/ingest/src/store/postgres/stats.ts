import { dayOfNumber } from '../../days.js';
import type { JobRun } from '../maintenance.js';
import type { PgTelemetryMaintenance } from './maintenance.js';
import { listPgPartitions } from './partitions.js';
import { type PartitionKind } from '../partitions.js';
import type { PgPool } from './pool.js';

/**
 * What `ops stats` shows of the telemetry store on PostgreSQL. Read-only and cheap enough to run while the
 * services write: a partition's row count is the planner's estimate once it is large (an exact count scans
 * it), and its date range comes from the per-app indexes, one lookup per app.
 */

/** Partitions the planner estimates above this many rows are not counted exactly. */
export const PG_STATS_EXACT_ROWS_MAX = 1_000_000;

export interface PgPartitionStats {
  name: string;
  kind: PartitionKind;
  month: string;
  rows: number;
  /** `rows` is pg_class.reltuples (as of the last VACUUM or ANALYZE), not a count. */
  estimated: boolean;
  /** First and last day (YYYY-MM-DD) with rows; null when empty. */
  firstDay: string | null;
  lastDay: string | null;
}

export interface PgTelemetryStats {
  /** pg_database_size of the telemetry database. */
  databaseBytes: number;
  partitions: PgPartitionStats[];
  daily: { rows: number; firstDay: string | null; lastDay: string | null };
  crashDailyRows: number;
  jobRuns: JobRun[];
  /** Ids handed out since the rollup's position, per kind (ids of skipped duplicates included). */
  waiting: Record<PartitionKind, number>;
}

/** Size in bytes of the database the pool is on. */
export async function pgDatabaseBytes(pool: PgPool): Promise<number> {
  const res = await pool.query<{ n: bigint }>('SELECT pg_database_size(current_database()) AS n');
  return Number(res.rows[0]!.n);
}

/** `exactRowsMax`: partitions estimated above it show the estimate (default PG_STATS_EXACT_ROWS_MAX). */
export async function pgTelemetryStats(pool: PgPool, maintenance: PgTelemetryMaintenance, opts: { exactRowsMax?: number } = {}): Promise<PgTelemetryStats> {
  const exactRowsMax = opts.exactRowsMax ?? PG_STATS_EXACT_ROWS_MAX;
  const partitions: PgPartitionStats[] = [];
  for (const p of await listPgPartitions(pool)) partitions.push({ ...p, ...(await partitionStats(pool, p.name, p.kind, exactRowsMax)) });
  const daily = (await pool.query<{ n: bigint; lo: string | null; hi: string | null }>('SELECT count(*) AS n, min(date) AS lo, max(date) AS hi FROM telemetry_daily')).rows[0]!;
  const crashes = (await pool.query<{ n: bigint }>('SELECT count(*) AS n FROM crash_daily')).rows[0]!;
  const waiting = await maintenance.rowsWaiting();
  return {
    databaseBytes: await pgDatabaseBytes(pool),
    partitions,
    daily: { rows: Number(daily.n), firstDay: daily.lo, lastDay: daily.hi },
    crashDailyRows: Number(crashes.n),
    jobRuns: await maintenance.jobRuns(),
    waiting: { events: Number(waiting.events), crashes: Number(waiting.crashes) },
  };
}

async function partitionStats(pool: PgPool, name: string, kind: PartitionKind, exactRowsMax: number): Promise<Omit<PgPartitionStats, 'name' | 'kind' | 'month'>> {
  // Names come from telemetry_partitions (partitionName's pattern): safe in SQL.
  const est = (await pool.query<{ n: number }>('SELECT reltuples::float8 AS n FROM pg_class WHERE oid = $1::regclass', [name])).rows[0]?.n ?? -1;
  // reltuples is -1 before the first VACUUM or ANALYZE of the table.
  const estimated = est > exactRowsMax;
  const rows = estimated ? Math.round(est) : Number((await pool.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${name}`)).rows[0]!.n);
  // Events are indexed on (app_id, day, ...), crashes on (app_id, timestamp): min and max per app are index lookups.
  const [lo, hi] = kind === 'events' ? ['min(day)', 'max(day)'] : ['min(timestamp) / 86400000', 'max(timestamp) / 86400000'];
  const range = (
    await pool.query<{ lo: number | null; hi: number | null }>(
      `SELECT min(x.lo)::int AS lo, max(x.hi)::int AS hi FROM dim_apps a CROSS JOIN LATERAL (SELECT ${lo} AS lo, ${hi} AS hi FROM ${name} WHERE app_id = a.id) x`,
    )
  ).rows[0];
  return {
    rows,
    estimated,
    firstDay: range?.lo == null ? null : dayOfNumber(range.lo),
    lastDay: range?.hi == null ? null : dayOfNumber(range.hi),
  };
}
