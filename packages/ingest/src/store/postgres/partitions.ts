import { DAY_MS, monthOf } from '../../days.js';
import { PARTITION_PARENT, partitionName, type PartitionInfo, type PartitionKind } from '../partitions.js';
import { LOCK_NS_PARTITIONS } from './locks.js';
import type { PgClient, PgPool } from './pool.js';

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

/** Partitions of one kind (or all), oldest month first. */
export async function listPgPartitions(q: PgPool | PgClient, kind?: PartitionKind): Promise<PartitionInfo[]> {
  const res = await q.query<PartitionInfo>('SELECT name, kind, month FROM telemetry_partitions ORDER BY kind, month');
  return kind ? res.rows.filter((r) => r.kind === kind) : res.rows;
}

/**
 * Makes the partitions of `months` for `kind` that do not exist yet, in one transaction under the
 * partitions lock (so processes doing it at once make each once). Returns the names that exist after.
 */
export async function ensurePgPartitions(pool: PgPool, kind: PartitionKind, months: Iterable<string>): Promise<string[]> {
  const wanted = [...new Set(months)].sort();
  const names = wanted.map((m) => partitionName(kind, m));
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_NS_PARTITIONS]);
    const have = new Set((await client.query<{ name: string }>('SELECT name FROM telemetry_partitions WHERE name = ANY($1)', [names])).rows.map((r) => r.name));
    for (const [i, month] of wanted.entries()) {
      const name = names[i]!;
      if (have.has(name)) continue;
      const { from, to } = monthDays(month);
      // Names and bounds come from monthDays/partitionName (digits only): DDL cannot take parameters.
      await client.query(`CREATE TABLE ${name} PARTITION OF ${PARTITION_PARENT[kind]} FOR VALUES FROM (${from}) TO (${to})`);
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
  const m = monthOf(nowMs);
  return [m, nextMonth(m)];
}
