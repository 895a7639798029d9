import type { DB } from '@mosis/shared';
import { addDays, DAY_MS, dayStartMs } from '../../days.js';
import { listPartitions } from '../sqlite/partitions.js';
import { PARTITION_PARENT, type PartitionInfo } from '../partitions.js';
import { dayOf } from '../../days.js';
import { uuidText } from '../sqlite/snapshot.js';
import { inTransaction, type PgClient, type PgPool } from './pool.js';

/**
 * Copies telemetry.db into the telemetry PostgreSQL (ops telemetry-migrate; the reads tests build their
 * PostgreSQL fixtures with it from the same rows as their SQLite ones). Ingest must not write telemetry.db
 * meanwhile.
 *
 * - Dimensions: apps and event types by name (PostgreSQL's ids are its own; every copied id is translated).
 * - Raw rows within the retention, per telemetry.db partition in id order, in batches: each batch commits
 *   with its partition's progress row (telemetry_copy_progress), so a run cut short resumes after its last
 *   batch and a second run copies nothing twice. PostgreSQL's sequence hands out ids in copy order, so a
 *   partition's order (and (timestamp, id) order) is kept.
 * - Aggregates, whole (they are kept forever): upserts, so re-running converges on the source's values.
 * - Rollup positions: PostgreSQL has one per raw table. A source whose rollup has folded all its rows
 *   translates to "all copied rows folded"; one that has not cannot be translated (its unfolded rows are
 *   spread over every partition) and is refused: run `ops rollup` first.
 */

export interface CopyOptions {
  /** Raw rows older than this many days before `now` are not copied (RETENTION_DAYS). */
  retentionDays: number;
  now?: () => number;
  /** Rows per committed batch. */
  batchRows?: number;
  /** Copy rows a rollup has not folded yet, leaving PostgreSQL's positions as they are (tests of the reads only). */
  allowUnfolded?: boolean;
  /** Stops the copy between two batches (each batch is committed with its progress, so a later run resumes). */
  signal?: AbortSignal;
  /** Called after each committed batch of raw rows. */
  onBatch?: (source: string, rows: number) => void;
}

export interface CopyResult {
  /** Raw rows copied by this run, per telemetry.db partition. */
  raw: Record<string, number>;
  /** Rows upserted per aggregate table. */
  aggregates: Record<string, number>;
}

const DEFAULT_BATCH_ROWS = 5_000;

/** Aggregate tables copied whole: their primary key, and every column (device ids as text of the signed value). */
const AGGREGATES: Array<{ table: string; key: string[]; columns: Array<[name: string, pgType: string]> }> = [
  {
    table: 'telemetry_daily',
    key: ['app_id', 'date', 'event_type'],
    columns: [['app_id', 'text'], ['date', 'text'], ['event_type', 'text'], ['count', 'bigint'], ['unique_devices', 'bigint'], ['sketch', 'bytea']],
  },
  {
    table: 'telemetry_daily_dims',
    key: ['app_id', 'date', 'dim', 'value'],
    columns: [['app_id', 'text'], ['date', 'text'], ['dim', 'text'], ['value', 'text'], ['count', 'bigint'], ['devices', 'bigint'], ['sketch', 'bytea']],
  },
  {
    table: 'crash_daily',
    key: ['app_id', 'date', 'fingerprint'],
    columns: [
      ['app_id', 'text'], ['date', 'text'], ['fingerprint', 'text'], ['crash_type', 'text'], ['message', 'text'], ['count', 'bigint'],
      ['devices', 'bigint'], ['first_seen', 'bigint'], ['last_seen', 'bigint'], ['app_versions', 'text'],
    ],
  },
  {
    table: 'crash_daily_devices',
    key: ['app_id', 'date', 'fingerprint', 'device_id'],
    columns: [['app_id', 'text'], ['date', 'text'], ['fingerprint', 'text'], ['device_id', 'bigint']],
  },
];

export async function copyFromSqlite(src: DB, pool: PgPool, opts: CopyOptions): Promise<CopyResult> {
  const now = opts.now ?? Date.now;
  const batch = opts.batchRows ?? DEFAULT_BATCH_ROWS;
  const keptFrom = dayStartMs(addDays(dayOf(now()), -opts.retentionDays));
  const parts = listPartitions(src);
  const folded = allFolded(src, parts);
  if (!folded && !opts.allowUnfolded) {
    throw new Error('telemetry.db has rows its rollup has not folded yet: run `ops rollup` (with ingest stopped) first');
  }
  const apps = await copyDims(src, pool, 'dim_apps', 'app_id', 'SELECT id, app_id AS name, package_id FROM dim_apps');
  const types = await copyDims(src, pool, 'dim_event_types', 'name', 'SELECT id, name FROM dim_event_types');
  const result: CopyResult = { raw: {}, aggregates: {} };

  const aet = src.prepare('SELECT app_id, event_type FROM app_event_types').all() as { app_id: number; event_type: number }[];
  await pool.query('INSERT INTO app_event_types (app_id, event_type) SELECT * FROM unnest($1::int[], $2::int[]) ON CONFLICT DO NOTHING', [
    aet.map((r) => apps.get(r.app_id)),
    aet.map((r) => types.get(r.event_type)),
  ]);

  for (const part of parts) {
    if (dayStartMs(`${part.month}-01`) + 31 * DAY_MS <= keptFrom) continue;
    await ensurePartition(pool, part);
    result.raw[part.name] = await copyPartition(src, pool, part, { keptFrom, batch, apps, types, signal: opts.signal, onBatch: opts.onBatch });
  }

  for (const agg of AGGREGATES) result.aggregates[agg.table] = await copyAggregate(src, pool, agg, batch);
  result.aggregates.device_days = await copyDeviceDays(src, pool, apps, batch);

  const watermarks = src.prepare('SELECT kind, kept_from FROM retention_watermark').all() as { kind: string; kept_from: string }[];
  for (const w of watermarks) {
    await pool.query('INSERT INTO retention_watermark (kind, kept_from) VALUES ($1, $2) ON CONFLICT (kind) DO UPDATE SET kept_from = excluded.kept_from', [w.kind, w.kept_from]);
  }
  if (folded) {
    // Everything copied is folded into the copied aggregates: the positions are the copied rows' last ids.
    for (const kind of ['events', 'crashes'] as const) {
      await pool.query(`UPDATE rollup_positions SET last_id = GREATEST(last_id, (SELECT coalesce(max(id), 0) FROM ${PARTITION_PARENT[kind]})) WHERE kind = $1`, [kind]);
    }
  }
  return result;
}

/** Whether the rollup has folded every row of every partition. */
function allFolded(src: DB, parts: PartitionInfo[]): boolean {
  const position = src.prepare('SELECT last_id FROM rollup_positions WHERE name = ?').pluck();
  return parts.every((p) => {
    const max = (src.prepare(`SELECT max(id) FROM ${p.name}`).pluck().get() as number | null) ?? 0;
    return ((position.get(p.name) as number | undefined) ?? 0) >= max;
  });
}

/** Upserts a dimension table by name; answers telemetry.db id → PostgreSQL id. */
async function copyDims(src: DB, pool: PgPool, table: 'dim_apps' | 'dim_event_types', key: string, select: string): Promise<Map<number, number>> {
  const rows = src.prepare(select).all() as { id: number; name: string; package_id?: string }[];
  const out = new Map<number, number>();
  if (!rows.length) return out;
  const res =
    table === 'dim_apps'
      ? await pool.query<{ id: number; name: string }>(
          `INSERT INTO dim_apps (app_id, package_id) SELECT * FROM unnest($1::text[], $2::text[])
           ON CONFLICT (app_id) DO UPDATE SET package_id = excluded.package_id RETURNING id, app_id AS name`,
          [rows.map((r) => r.name), rows.map((r) => r.package_id)],
        )
      : await pool.query<{ id: number; name: string }>(
          `INSERT INTO dim_event_types (name) SELECT * FROM unnest($1::text[]) ON CONFLICT (${key}) DO UPDATE SET name = excluded.name RETURNING id, name`,
          [rows.map((r) => r.name)],
        );
  const pgId = new Map(res.rows.map((r) => [r.name, r.id]));
  for (const r of rows) out.set(r.id, pgId.get(r.name)!);
  return out;
}

/**
 * The PostgreSQL partition of a telemetry.db partition's month, if it is not there. Idempotent, so two
 * makers (a copy, a writer) agree; listed in telemetry_partitions as the store's own are.
 */
async function ensurePartition(pool: PgPool, part: PartitionInfo): Promise<void> {
  const from = dayStartMs(`${part.month}-01`) / DAY_MS;
  const [y, m] = part.month.split('-').map(Number) as [number, number];
  const to = Date.UTC(y, m, 1) / DAY_MS;
  const kind = part.kind;
  // The name is telemetry.db's (`<table>_YYYY_MM`, checked by partitionName) and the bounds are numbers: DDL takes no parameters.
  await inTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`partition:${part.name}`]);
    await c.query(`CREATE TABLE IF NOT EXISTS ${part.name} PARTITION OF ${PARTITION_PARENT[kind]} FOR VALUES FROM (${from}) TO (${to})`);
    if (kind === 'crashes') await c.query(`CREATE UNIQUE INDEX IF NOT EXISTS ${part.name}_crash_id ON ${part.name} (app_id, device_id, crash_id) WHERE crash_id IS NOT NULL`);
    await c.query('INSERT INTO telemetry_partitions (name, kind, month, from_day, to_day) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [part.name, kind, part.month, from, to]);
  });
}

interface RawCopy extends Pick<CopyOptions, 'signal' | 'onBatch'> {
  keptFrom: number;
  batch: number;
  apps: Map<number, number>;
  types: Map<number, number>;
}

/** Copies one partition's rows after its progress, batch by batch; answers the rows copied. */
async function copyPartition(src: DB, pool: PgPool, part: PartitionInfo, o: RawCopy): Promise<number> {
  let copied = 0;
  const hasReceived = src.prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = 'received_at'").get(part.name) !== undefined;
  const hasAppVersion = src.prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = 'app_version'").get(part.name) !== undefined;
  const select =
    part.kind === 'events'
      ? src.prepare(
          `SELECT id, app_id, device_id, event_type, timestamp, event_id, mosis_version, event_data,
             ${hasAppVersion ? 'app_version' : 'NULL AS app_version'}, ${hasReceived ? 'received_at' : 'NULL AS received_at'}
           FROM ${part.name} WHERE id > ? ORDER BY id LIMIT ?`,
        )
      : src.prepare(`SELECT * FROM ${part.name} WHERE id > ? ORDER BY id LIMIT ?`);
  select.safeIntegers(true);
  for (;;) {
    o.signal?.throwIfAborted();
    const last = BigInt((await pool.query<{ last_id: bigint }>('SELECT last_id FROM telemetry_copy_progress WHERE source = $1', [part.name])).rows[0]?.last_id ?? 0n);
    const rows = select.all(last, o.batch) as Array<Record<string, unknown>>;
    if (!rows.length) return copied;
    const kept = rows.filter((r) => Number(r.timestamp) >= o.keptFrom);
    const through = rows[rows.length - 1]!.id as bigint;
    await inTransaction(pool, async (c) => {
      if (kept.length) await (part.kind === 'events' ? insertEvents(c, kept, o) : insertCrashes(c, kept, o));
      await c.query(
        `INSERT INTO telemetry_copy_progress (source, last_id, rows) VALUES ($1, $2, $3)
         ON CONFLICT (source) DO UPDATE SET last_id = excluded.last_id, rows = telemetry_copy_progress.rows + excluded.rows, updated_at = now()`,
        [part.name, through, kept.length],
      );
    });
    copied += kept.length;
    o.onBatch?.(part.name, kept.length);
  }
}

const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
const dayNumber = (r: Record<string, unknown>) => Math.floor(Number(r.timestamp) / DAY_MS);

async function insertEvents(c: PgClient, rows: Array<Record<string, unknown>>, o: RawCopy): Promise<void> {
  await c.query(
    `INSERT INTO telemetry_events (app_id, day, device_id, event_type, timestamp, event_id, mosis_version, event_data, app_version, received_at)
     SELECT * FROM unnest($1::int[], $2::int[], $3::bigint[], $4::int[], $5::bigint[], $6::uuid[], $7::text[], $8::text[], $9::text[], $10::bigint[])
     ON CONFLICT DO NOTHING`,
    [
      rows.map((r) => o.apps.get(Number(r.app_id))),
      rows.map(dayNumber),
      rows.map((r) => text(r.device_id)),
      rows.map((r) => o.types.get(Number(r.event_type))),
      rows.map((r) => text(r.timestamp)),
      rows.map((r) => uuidText(r.event_id as Buffer | null)),
      rows.map((r) => r.mosis_version ?? null),
      rows.map((r) => r.event_data ?? null),
      rows.map((r) => r.app_version ?? null),
      rows.map((r) => text(r.received_at)),
    ],
  );
}

async function insertCrashes(c: PgClient, rows: Array<Record<string, unknown>>, o: RawCopy): Promise<void> {
  await c.query(
    `INSERT INTO crash_reports (app_id, day, device_id, timestamp, crash_id, fingerprint, crash_type, app_version, message, stack_trace, context, mosis_version, created_at)
     SELECT * FROM unnest($1::int[], $2::int[], $3::bigint[], $4::bigint[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[])
     ON CONFLICT DO NOTHING`,
    [
      rows.map((r) => o.apps.get(Number(r.app_id))),
      rows.map(dayNumber),
      rows.map((r) => text(r.device_id)),
      rows.map((r) => text(r.timestamp)),
      rows.map((r) => uuidText(r.crash_id as Buffer | null)),
      rows.map((r) => r.fingerprint),
      rows.map((r) => r.crash_type),
      rows.map((r) => r.app_version),
      rows.map((r) => r.message ?? null),
      rows.map((r) => r.stack_trace ?? null),
      rows.map((r) => r.context ?? null),
      rows.map((r) => r.mosis_version ?? null),
      rows.map((r) => text(r.created_at)),
    ],
  );
}

/** Upserts a whole aggregate table in batches (keyset by its primary key); answers the rows read. */
async function copyAggregate(src: DB, pool: PgPool, agg: (typeof AGGREGATES)[number], batch: number): Promise<number> {
  const names = agg.columns.map(([n]) => n);
  const hasTable = src.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(agg.table) !== undefined;
  if (!hasTable) return 0;
  const have = new Set((src.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(agg.table) as string[]));
  const selectCols = names.map((n) => (have.has(n) ? n : `NULL AS ${n}`)).join(', ');
  const keyTuple = `(${agg.key.join(', ')})`;
  const first = src.prepare(`SELECT ${selectCols} FROM ${agg.table} ORDER BY ${agg.key.join(', ')} LIMIT ?`).safeIntegers(true);
  const next = src.prepare(`SELECT ${selectCols} FROM ${agg.table} WHERE ${keyTuple} > (${agg.key.map(() => '?').join(', ')}) ORDER BY ${agg.key.join(', ')} LIMIT ?`).safeIntegers(true);
  const updates = names.filter((n) => !agg.key.includes(n)).map((n) => `${n} = excluded.${n}`);
  const sql = `INSERT INTO ${agg.table} (${names.join(', ')}) SELECT * FROM unnest(${agg.columns.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ')})
    ON CONFLICT (${agg.key.join(', ')}) DO ${updates.length ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`;
  let total = 0;
  let after: unknown[] | undefined;
  for (;;) {
    const rows = (after ? next.all(...after, batch) : first.all(batch)) as Array<Record<string, unknown>>;
    if (!rows.length) return total;
    await pool.query(
      sql,
      agg.columns.map(([n, t]) => rows.map((r) => (t === 'bytea' ? (r[n] ?? null) : t === 'bigint' ? text(r[n]) : (r[n] ?? null)))),
    );
    total += rows.length;
    const last = rows[rows.length - 1]!;
    after = agg.key.map((k) => last[k]);
  }
}

/** device_days with the app translated; rows are facts (a device on a day), so a copied one is left alone. */
async function copyDeviceDays(src: DB, pool: PgPool, apps: Map<number, number>, batch: number): Promise<number> {
  const key = 'app, day, dim, value, device';
  const first = src.prepare(`SELECT ${key} FROM device_days ORDER BY ${key} LIMIT ?`).safeIntegers(true);
  const next = src.prepare(`SELECT ${key} FROM device_days WHERE (${key}) > (?, ?, ?, ?, ?) ORDER BY ${key} LIMIT ?`).safeIntegers(true);
  let total = 0;
  let after: unknown[] | undefined;
  for (;;) {
    const rows = (after ? next.all(...after, batch) : first.all(batch)) as Array<Record<string, unknown>>;
    if (!rows.length) return total;
    await pool.query(
      `INSERT INTO device_days (app, day, dim, value, device) SELECT * FROM unnest($1::int[], $2::int[], $3::smallint[], $4::text[], $5::bigint[]) ON CONFLICT DO NOTHING`,
      [rows.map((r) => apps.get(Number(r.app))), rows.map((r) => Number(r.day)), rows.map((r) => Number(r.dim)), rows.map((r) => r.value), rows.map((r) => text(r.device))],
    );
    total += rows.length;
    const last = rows[rows.length - 1]!;
    after = [last.app, last.day, last.dim, last.value, last.device];
  }
}
