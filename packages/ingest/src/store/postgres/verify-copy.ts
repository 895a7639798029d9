import type { DB } from '@mosis/shared';
import { addDays, dayOfNumber, dayStartMs } from '../../days.js';
import { listPartitions } from '../sqlite/partitions.js';
import { dayOf } from '../../days.js';
import type { PgPool } from './pool.js';

/**
 * After copyFromSqlite: per table and UTC day, what telemetry.db holds against what PostgreSQL holds.
 * Raw tables count rows within the retention (what was copied); the daily aggregates count rows, and
 * telemetry_daily and crash_daily also their summed counts (`rows/sum`), so a day whose numbers differ
 * shows even when its row count agrees.
 */

export interface TableCheck {
  table: string;
  /** Days compared (present on either side). */
  days: number;
  /** Totals over all days, as `rows` or `rows/sum`. */
  sqlite: string;
  postgres: string;
  /** The days that differ, oldest first. */
  differing: Array<{ day: string; sqlite: string; postgres: string }>;
}

type PerDay = Map<string, [rows: number, sum: number]>;

interface Spec {
  table: string;
  /** Per day: [rows, sum] on telemetry.db. */
  sqlite: (src: DB, keptFrom: number) => PerDay;
  /** The same on PostgreSQL: rows of (day, rows, sum). */
  pg: string;
  /** Whether the sum is compared (else only rows). */
  sum: boolean;
}

const fromRows = (rows: Array<{ day: string | number; n: number | bigint; s?: number | bigint | null }>): PerDay => {
  const out: PerDay = new Map();
  for (const r of rows) {
    const day = typeof r.day === 'number' ? dayOfNumber(r.day) : r.day;
    const [n, s] = out.get(day) ?? [0, 0];
    out.set(day, [n + Number(r.n), s + Number(r.s ?? 0)]);
  }
  return out;
};

/** A SQLite aggregate table counted per date. */
const sqliteDaily = (table: string, sum?: string) => (src: DB) =>
  fromRows(src.prepare(`SELECT date AS day, count(*) AS n${sum ? `, sum(${sum}) AS s` : ''} FROM ${table} GROUP BY date`).all() as never);

/** SQLite raw partitions of a kind counted per day of timestamp, within the retention. */
const sqliteRaw = (kind: 'events' | 'crashes') => (src: DB, keptFrom: number) =>
  fromRows(
    listPartitions(src, kind).flatMap(
      (p) => src.prepare(`SELECT timestamp / 86400000 AS day, count(*) AS n FROM ${p.name} WHERE timestamp >= ? GROUP BY 1`).all(keptFrom) as never[],
    ),
  );

const SPECS: Spec[] = [
  { table: 'telemetry_events', sqlite: sqliteRaw('events'), pg: 'SELECT day, count(*) AS n FROM telemetry_events WHERE timestamp >= $1 GROUP BY day', sum: false },
  { table: 'crash_reports', sqlite: sqliteRaw('crashes'), pg: 'SELECT day, count(*) AS n FROM crash_reports WHERE timestamp >= $1 GROUP BY day', sum: false },
  { table: 'telemetry_daily', sqlite: sqliteDaily('telemetry_daily', 'count'), pg: 'SELECT date AS day, count(*) AS n, sum(count) AS s FROM telemetry_daily GROUP BY date', sum: true },
  { table: 'telemetry_daily_dims', sqlite: sqliteDaily('telemetry_daily_dims', 'count'), pg: 'SELECT date AS day, count(*) AS n, sum(count) AS s FROM telemetry_daily_dims GROUP BY date', sum: true },
  {
    table: 'device_days',
    sqlite: (src) => fromRows(src.prepare('SELECT day, count(*) AS n FROM device_days GROUP BY day').all() as never),
    pg: 'SELECT day, count(*) AS n FROM device_days GROUP BY day',
    sum: false,
  },
  { table: 'crash_daily', sqlite: sqliteDaily('crash_daily', 'count'), pg: 'SELECT date AS day, count(*) AS n, sum(count) AS s FROM crash_daily GROUP BY date', sum: true },
  { table: 'crash_daily_devices', sqlite: sqliteDaily('crash_daily_devices'), pg: 'SELECT date AS day, count(*) AS n FROM crash_daily_devices GROUP BY date', sum: false },
];

/** Compares every table per day; a table missing on telemetry.db (not migrated that far) counts as empty. */
export async function verifyCopy(src: DB, pool: PgPool, opts: { retentionDays: number; now?: () => number }): Promise<TableCheck[]> {
  const keptFrom = dayStartMs(addDays(dayOf((opts.now ?? Date.now)()), -opts.retentionDays));
  const out: TableCheck[] = [];
  for (const spec of SPECS) {
    let a: PerDay;
    try {
      a = spec.sqlite(src, keptFrom);
    } catch (err) {
      if (!/no such table/i.test((err as Error).message)) throw err;
      a = new Map();
    }
    const b = fromRows((await pool.query(spec.pg, spec.table === 'telemetry_events' || spec.table === 'crash_reports' ? [keptFrom] : [])).rows);
    const show = ([n, s]: [number, number]) => (spec.sum ? `${n}/${s}` : `${n}`);
    const days = [...new Set([...a.keys(), ...b.keys()])].sort();
    const differing = days
      .map((day) => ({ day, sqlite: show(a.get(day) ?? [0, 0]), postgres: show(b.get(day) ?? [0, 0]) }))
      .filter((d) => d.sqlite !== d.postgres);
    const total = (m: PerDay) => show([...m.values()].reduce<[number, number]>((t, [n, s]) => [t[0] + n, t[1] + s], [0, 0]));
    out.push({ table: spec.table, days: days.length, sqlite: total(a), postgres: total(b), differing });
  }
  return out;
}
