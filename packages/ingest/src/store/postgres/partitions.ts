import { LOCK_NS_PARTITIONS } from './locks.js';
import type { PgClient, PgPool } from './pool.js';

/**
 * Month partitions of the raw tables on PostgreSQL. The parents (telemetry_events, crash_reports) are
 * partitioned by RANGE (day); each UTC month is one partition named like SQLite's
 * (`telemetry_events_2026_11`), listed in telemetry_partitions. CREATE TABLE ... PARTITION OF locks the
 * parent against inserts for a moment, so partitions are made ahead of need (this month and the next:
 * by the writer on first use and by maintenance daily), in their own short transaction under an advisory
 * lock, never inside a writer's transaction.
 */

export type PgPartitionKind = 'events' | 'crashes';

const PARENT: Record<PgPartitionKind, string> = { events: 'telemetry_events', crashes: 'crash_reports' };
const DAY_MS = 86_400_000;

/** `YYYY-MM` (UTC) of a Unix-ms timestamp. */
export function monthOfMs(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** The month after `month` (YYYY-MM). */
export function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 7);
}

/** First day number of `month` and of the month after. */
export function monthDays(month: string): { from: number; to: number } {
  if (!/^\d{4}-\d{2}$/.test(month)) throw new Error(`bad partition month ${month}`);
  const [y, m] = month.split('-').map(Number) as [number, number];
  return { from: Date.UTC(y, m - 1, 1) / DAY_MS, to: Date.UTC(y, m, 1) / DAY_MS };
}

/** Table name of a partition: `telemetry_events_2026_11`. Only YYYY-MM is accepted, so it is safe in SQL. */
export function pgPartitionName(kind: PgPartitionKind, month: string): string {
  if (!/^\d{4}-\d{2}$/.test(month)) throw new Error(`bad partition month ${month}`);
  return `${PARENT[kind]}_${month.replace('-', '_')}`;
}

export interface PgPartitionInfo {
  name: string;
  kind: PgPartitionKind;
  month: string;
}

/** Partitions of one kind (or all), oldest month first. */
export async function listPgPartitions(q: PgPool | PgClient, kind?: PgPartitionKind): Promise<PgPartitionInfo[]> {
  const res = await q.query<PgPartitionInfo>('SELECT name, kind, month FROM telemetry_partitions ORDER BY kind, month');
  return kind ? res.rows.filter((r) => r.kind === kind) : res.rows;
}

/**
 * Makes the partitions of `months` for `kind` that do not exist yet, in one transaction under the
 * partitions lock (so processes doing it at once make each once). Returns the names that exist after.
 */
export async function ensurePgPartitions(pool: PgPool, kind: PgPartitionKind, months: Iterable<string>): Promise<string[]> {
  const wanted = [...new Set(months)].sort();
  const names = wanted.map((m) => pgPartitionName(kind, m));
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_NS_PARTITIONS]);
    const have = new Set((await client.query<{ name: string }>('SELECT name FROM telemetry_partitions WHERE name = ANY($1)', [names])).rows.map((r) => r.name));
    for (const [i, month] of wanted.entries()) {
      const name = names[i]!;
      if (have.has(name)) continue;
      const { from, to } = monthDays(month);
      // Names and bounds come from monthDays/pgPartitionName (digits only): DDL cannot take parameters.
      await client.query(`CREATE TABLE ${name} PARTITION OF ${PARENT[kind]} FOR VALUES FROM (${from}) TO (${to})`);
      // Crash idempotency is per (app, device, crash_id) within a month, as on SQLite (see 0001).
      if (kind === 'crashes') await client.query(`CREATE UNIQUE INDEX ${name}_crash_id ON ${name} (app_id, device_id, crash_id) WHERE crash_id IS NOT NULL`);
      await client.query('INSERT INTO telemetry_partitions (name, kind, month, from_day, to_day) VALUES ($1, $2, $3, $4, $5)', [name, kind, month, from, to]);
    }
    await client.query('COMMIT');
    return names;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw new Error(`create ${kind} partitions ${wanted.join(', ')}: ${(err as Error).message}`, { cause: err });
  } finally {
    client.release();
  }
}

/** The month of `nowMs` and the next: what must exist before rows of today (and of the month turning) arrive. */
export function monthsAhead(nowMs: number): string[] {
  const m = monthOfMs(nowMs);
  return [m, nextMonth(m)];
}
