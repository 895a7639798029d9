import type { Logger } from '@mosis/shared';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { dayNumberOf, dayOfNumber, daysBetween, lastDayOfMonth } from '../../days.js';
import { LEASE_TTL_MS, MaintenanceBusyError, retentionCutoffDay, type JobName, type JobRun, type PruneSummary, type RollupStats, type TelemetryMaintenance } from '../maintenance.js';
import { PG_POSITION_SAMPLE_KEEP_MS, PG_ROLLUP_STEP_ROWS, PG_SETTLE_MS, PG_SETTLE_WAIT_MAX_MS, PG_TRIM_CHUNK_ROWS } from '../../limits.js';
import { DeviceSketch } from '../../sketch/device-sketch.js';
import { DIM, DIM_NAME, firstOpenDay, sketchPrecision, type DayGroup, type Dim } from '../aggregates.js';
import { hash32, LOCK_NS_JOBS, LOCK_NS_PARTITIONS } from './locks.js';
import { ensurePgPartitions, listPgPartitions, monthsAhead } from './partitions.js';
import { PARTITION_PARENT, type PartitionKind } from '../partitions.js';
import { inTransaction, type PgClient, type PgPool } from './pool.js';

/**
 * Maintenance of the telemetry store on PostgreSQL: the incremental rollup, retention, partitions made
 * ahead, and the lease that lets one process at a time run them.
 *
 * Rollup: the same algorithm as SQLite's (store/sqlite/rollup.ts) with the same aggregates and DeviceSketches, so
 * both give the same numbers (store/contract checks). Rows are folded by id, but ids are handed out in
 * time order and commit out of order across sessions, so a run folds only up to a *settled* position: a
 * sample of the raw table's sequence taken more than PG_SETTLE_MS ago (every inserting transaction is
 * bounded by less, see the writer), whose ids all belong to ended transactions. Each run samples the
 * sequences, waits out the delay and samples again: with the scheduler's 20 s runs an event reaches the
 * aggregates within about 20 s + PG_SETTLE_MS + the run's own time.
 *
 * Each step is one transaction: it checks the position is still where the step starts (FOR UPDATE: a
 * second rollup waits, then fails rather than count twice), folds the step's rows with set-based SQL
 * (device rows ON CONFLICT DO NOTHING RETURNING count the new devices), and moves the position.
 *
 * Retention: months wholly before the cutoff are detached (CONCURRENTLY: ingest keeps inserting) and
 * dropped once rolled up; the boundary month is trimmed in short transactions, only rows at or below the
 * rollup position.
 */

export interface PgMaintenanceOptions {
  pool: PgPool;
  /** Settle delay (ms; default PG_SETTLE_MS). Tests that write and then roll up in one process may use 0. */
  settleMs?: number;
  now?: () => number;
  log?: Logger;
}

/** What a rebuild of a range of days did (as on SQLite: store/sqlite/rollup-rebuild.ts). */
export interface PgRebuildStats {
  /** (kind, app, day) aggregates replaced. */
  days: number;
  /** Raw rows read to compute them. */
  rows: number;
  /** (kind, app, day)s left as they were: before the retention watermark. */
  skippedDays: number;
  /** (app, day)s whose device rows became sketches again (days older than OPEN_DAYS). */
  closedDays: number;
  aborted: boolean;
}

/** A job run elsewhere holds the lease. */
export class PgLeaseBusyError extends MaintenanceBusyError {
  override readonly name = 'PgLeaseBusyError';
  constructor(
    readonly job: string,
    holder: string,
  ) {
    super(`${job} is running in another process (${holder})`, holder);
  }
}

/** While waiting for a lease another process holds (`ops`: waitMs), it is tried again this often. */
const PG_LEASE_POLL_MS = 250;

/** A day number as the aggregates' YYYY-MM-DD text, in SQL. */
const DATE_OF_DAY = (col: string) => `to_char(date '1970-01-01' + ${col}, 'YYYY-MM-DD')`;

/** Days (numbers since 1970-01-01), both included. */
interface DayRange {
  first: number;
  last: number;
}
/** The incremental rollup's range has no last day: the largest the `day` column (integer) holds. */
const LAST_DAY = 2 ** 31 - 1;

export class PgTelemetryMaintenance implements TelemetryMaintenance {
  private readonly pool: PgPool;
  private readonly now: () => number;

  constructor(private readonly opts: PgMaintenanceOptions) {
    this.pool = opts.pool;
    this.now = opts.now ?? Date.now;
  }

  /** Makes this month's and next month's partitions of both kinds (daily, and at start). */
  async ensurePartitionsAhead(): Promise<void> {
    for (const kind of ['events', 'crashes'] as const) await ensurePgPartitions(this.pool, kind, monthsAhead(this.now()));
  }

  /** Samples the sequence and answers the largest id whose transaction has surely ended. */
  async settledPosition(kind: PartitionKind): Promise<bigint> {
    const table = PARTITION_PARENT[kind];
    await this.pool.query(
      `INSERT INTO position_samples (kind, taken_at, last_id)
       SELECT $1, clock_timestamp(), coalesce(pg_sequence_last_value(pg_get_serial_sequence($2, 'id')::regclass), 0)
       ON CONFLICT DO NOTHING`,
      [kind, table],
    );
    const settle = this.opts.settleMs ?? PG_SETTLE_MS;
    const res = await this.pool.query<{ last: bigint | null }>(
      `SELECT max(last_id) AS last FROM position_samples WHERE kind = $1 AND taken_at <= clock_timestamp() - make_interval(secs => $2::float8 / 1000)`,
      [kind, settle],
    );
    await this.pool.query(
      `DELETE FROM position_samples WHERE kind = $1 AND taken_at < clock_timestamp() - make_interval(secs => $2::float8 / 1000)`,
      [kind, Math.max(PG_POSITION_SAMPLE_KEEP_MS, settle * 2)],
    );
    return res.rows[0]?.last ?? 0n;
  }

  /** Rows stored up to now but not yet folded in, per kind (ids used up by skipped duplicates included). */
  async rowsWaiting(): Promise<Record<PartitionKind, bigint>> {
    const res = await this.pool.query<{ kind: PartitionKind; waiting: bigint }>(
      `SELECT p.kind, greatest(0, coalesce(pg_sequence_last_value(pg_get_serial_sequence(
          CASE p.kind WHEN 'events' THEN 'telemetry_events' ELSE 'crash_reports' END, 'id')::regclass), 0) - p.last_id) AS waiting
       FROM rollup_positions p`,
    );
    const out = { events: 0n, crashes: 0n };
    for (const r of res.rows) out[r.kind] = r.waiting;
    return out;
  }

  /**
   * Folds the settled rows into the aggregates, then closes the days older than OPEN_DAYS. Rows stored
   * since the last sample settle only after the delay: when the delay is short (PG_SETTLE_WAIT_MAX_MS),
   * the run waits it out once, so an event reaches the aggregates by the next run after it, not the one after.
   */
  async rollup(opts: { signal?: AbortSignal; onStep?: () => void } = {}): Promise<RollupStats> {
    const stats: RollupStats = { steps: 0, rows: 0, skippedRows: 0, closedDays: 0, aborted: false };
    const settle = this.opts.settleMs ?? PG_SETTLE_MS;
    if (settle > 0 && settle <= PG_SETTLE_WAIT_MAX_MS) {
      for (const kind of ['events', 'crashes'] as const) await this.settledPosition(kind);
      try {
        await delay(settle, undefined, { signal: opts.signal });
      } catch {
        return { ...stats, aborted: true };
      }
    }
    for (const kind of ['events', 'crashes'] as const) {
      const settled = await this.settledPosition(kind);
      let from = await this.position(kind);
      while (from < settled) {
        if (opts.signal?.aborted) return { ...stats, aborted: true };
        const to = from + BigInt(PG_ROLLUP_STEP_ROWS) < settled ? from + BigInt(PG_ROLLUP_STEP_ROWS) : settled;
        const r = await inTransaction(this.pool, (c) => this.step(c, kind, from, to));
        stats.steps++;
        stats.rows += r.rows;
        stats.skippedRows += r.skippedRows;
        from = to;
        opts.onStep?.();
      }
    }
    stats.closedDays = await this.closeDays(opts.signal);
    if (stats.skippedRows) this.opts.log?.warn('rollup passed over rows of days before the retention watermark', { rows: stats.skippedRows });
    return { ...stats, aborted: !!opts.signal?.aborted };
  }

  /**
   * The repair path (`ops rollup --from --to`): the aggregates of `from`..`to` (both included) recomputed
   * from the raw rows up to the rollup's position. Per kind and day one transaction, with the position
   * row locked, deletes that day's aggregates of every app (counts, device rows) and folds its raw rows
   * again as the incremental rollup does, so readers see the old day or the new one, never half; days
   * older than OPEN_DAYS are then closed into sketches as the rollup closes them. Days before the
   * retention watermark, and days without a partition, keep their aggregates (their raw rows are gone).
   */
  async rebuild(opts: { from: string; to: string; signal?: AbortSignal }): Promise<PgRebuildStats> {
    const stats: PgRebuildStats = { days: 0, rows: 0, skippedDays: 0, closedDays: 0, aborted: false };
    const apps = Number((await this.pool.query<{ n: bigint }>('SELECT count(*) AS n FROM dim_apps')).rows[0]!.n);
    for (const kind of ['events', 'crashes'] as const) {
      const months = new Set((await listPgPartitions(this.pool, kind)).map((p) => p.month));
      for (const date of daysBetween(opts.from, opts.to)) {
        if (opts.signal?.aborted) return { ...stats, aborted: true };
        if (!months.has(date.slice(0, 7))) continue;
        const rows = await inTransaction(this.pool, (c) => this.rebuildDay(c, kind, date));
        if (rows === 'kept') stats.skippedDays += apps;
        else {
          stats.days += apps;
          stats.rows += rows;
        }
      }
    }
    stats.closedDays = await this.closeDays(opts.signal);
    if (stats.skippedDays) this.opts.log?.warn('rollup rebuild left days before the retention watermark as they were', { days: stats.skippedDays });
    return { ...stats, aborted: !!opts.signal?.aborted };
  }

  private async rebuildDay(c: PgClient, kind: PartitionKind, date: string): Promise<number | 'kept'> {
    const pos = await c.query<{ last_id: bigint }>('SELECT last_id FROM rollup_positions WHERE kind = $1 FOR UPDATE', [kind]);
    const position = pos.rows[0]?.last_id ?? 0n;
    const wm = await c.query<{ kept_from: string }>('SELECT kept_from FROM retention_watermark WHERE kind = $1', [kind]);
    if (wm.rows[0] && date < wm.rows[0].kept_from) return 'kept';
    const day = dayNumberOf(date);
    if (kind === 'events') {
      await c.query('DELETE FROM telemetry_daily WHERE date = $1', [date]);
      await c.query('DELETE FROM telemetry_daily_dims WHERE date = $1', [date]);
      await c.query('DELETE FROM device_days WHERE day = $1', [day]);
      return this.foldEvents(c, 0n, position, { first: day, last: day });
    }
    await c.query('DELETE FROM crash_daily WHERE date = $1', [date]);
    await c.query('DELETE FROM crash_daily_devices WHERE date = $1', [date]);
    return this.foldCrashes(c, 0n, position, { first: day, last: day });
  }

  private async position(kind: PartitionKind): Promise<bigint> {
    const res = await this.pool.query<{ last_id: bigint }>('SELECT last_id FROM rollup_positions WHERE kind = $1', [kind]);
    return res.rows[0]?.last_id ?? 0n;
  }

  private async step(c: PgClient, kind: PartitionKind, from: bigint, to: bigint): Promise<{ rows: number; skippedRows: number }> {
    const pos = await c.query<{ last_id: bigint }>('SELECT last_id FROM rollup_positions WHERE kind = $1 FOR UPDATE', [kind]);
    if (pos.rows[0]?.last_id !== from) throw new Error(`rollup: ${kind} is at ${pos.rows[0]?.last_id}, not ${from}: another rollup ran (retry)`);
    const wm = await c.query<{ kept_from: string }>('SELECT kept_from FROM retention_watermark WHERE kind = $1', [kind]);
    const firstKept = wm.rows[0] ? dayNumberOf(wm.rows[0].kept_from) : -1e9;
    const skipped = await c.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${PARTITION_PARENT[kind]} WHERE id > $1 AND id <= $2 AND day < $3`, [from, to, firstKept]);
    const days = { first: firstKept, last: LAST_DAY };
    const r = kind === 'events' ? await this.foldEvents(c, from, to, days) : await this.foldCrashes(c, from, to, days);
    await c.query('UPDATE rollup_positions SET last_id = $2 WHERE kind = $1', [kind, to]);
    return { rows: r, skippedRows: Number(skipped.rows[0]!.n) };
  }

  /** Folds the rows with ids in (from, to] and days in `days` (both included). */
  private async foldEvents(c: PgClient, from: bigint, to: bigint, days: DayRange): Promise<number> {
    const groups = new Map<string, DayGroup>();
    const group = (app: string, day: number, dim: Dim, value: string): DayGroup => {
      const key = `${app}|${day}|${dim}|${value}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { app, date: dayOfNumber(day), dim, value, count: 0, devices: 0 }));
      return g;
    };
    const counts = await c.query<{ app: string; day: number; type: string; mv: string; av: string; n: bigint }>(
      `SELECT a.app_id AS app, e.day, t.name AS type, coalesce(e.mosis_version, '') AS mv, coalesce(e.app_version, '') AS av, count(*) AS n
       FROM telemetry_events e JOIN dim_apps a ON a.id = e.app_id JOIN dim_event_types t ON t.id = e.event_type
       WHERE e.id > $1 AND e.id <= $2 AND e.day >= $3 AND e.day <= $4 GROUP BY 1, 2, 3, 4, 5`,
      [from, to, days.first, days.last],
    );
    let rows = 0;
    const appDays = new Map<string, { app: string; day: number }>();
    for (const x of counts.rows) {
      const n = Number(x.n);
      group(x.app, x.day, DIM.all, '').count += n;
      group(x.app, x.day, DIM.event_type, x.type).count += n;
      group(x.app, x.day, DIM.mosis_version, x.mv).count += n;
      group(x.app, x.day, DIM.app_version, x.av).count += n;
      rows += n;
      appDays.set(`${x.app}|${x.day}`, { app: x.app, day: x.day });
    }
    if (rows === 0) return 0;
    // Closed (app, day)s: their app-wide aggregate has a sketch; their devices merge into sketches.
    const list = [...appDays.values()];
    const closedRes = await c.query<{ app: string; date: string }>(
      `SELECT d.app_id AS app, d.date FROM telemetry_daily_dims d JOIN unnest($1::text[], $2::text[]) AS k(app, date) ON d.app_id = k.app AND d.date = k.date
       WHERE d.dim = '' AND d.value = '' AND d.sketch IS NOT NULL`,
      [list.map((x) => x.app), list.map((x) => dayOfNumber(x.day))],
    );
    const closed = closedRes.rows.map((r) => ({ app: r.app, day: dayNumberOf(r.date) }));
    const tuples = `
      WITH s AS MATERIALIZED (
        SELECT DISTINCT e.app_id AS app, a.app_id AS app_name, e.day, t.name AS type, coalesce(e.mosis_version, '') AS mv,
               coalesce(e.app_version, '') AS av, e.device_id AS device
        FROM telemetry_events e JOIN dim_apps a ON a.id = e.app_id JOIN dim_event_types t ON t.id = e.event_type
        WHERE e.id > $1 AND e.id <= $2 AND e.day >= $3 AND e.day <= $6),
      tuples AS (
        SELECT DISTINCT app, app_name, day, ${DIM.all}::smallint AS dim, '' AS value, device FROM s
        UNION ALL SELECT DISTINCT app, app_name, day, ${DIM.event_type}::smallint, type, device FROM s
        UNION ALL SELECT DISTINCT app, app_name, day, ${DIM.mosis_version}::smallint, mv, device FROM s
        UNION ALL SELECT DISTINCT app, app_name, day, ${DIM.app_version}::smallint, av, device FROM s),
      closed AS (SELECT * FROM unnest($4::text[], $5::int[]) AS k(app_name, day))`;
    const params = [from, to, days.first, closed.map((x) => x.app), closed.map((x) => x.day), days.last];
    // Devices of open days are rows (exact); a row added is a device new to that aggregate that day.
    const added = await c.query<{ app_name: string; day: number; dim: Dim; value: string; n: bigint }>(
      `${tuples},
      ins AS (
        INSERT INTO device_days (app, day, dim, value, device)
        SELECT app, day, dim, value, device FROM tuples t WHERE NOT EXISTS (SELECT 1 FROM closed k WHERE k.app_name = t.app_name AND k.day = t.day)
        ON CONFLICT DO NOTHING RETURNING app, day, dim, value)
      SELECT a.app_id AS app_name, ins.day, ins.dim, ins.value, count(*) AS n FROM ins JOIN dim_apps a ON a.id = ins.app GROUP BY 1, 2, 3, 4`,
      params,
    );
    for (const x of added.rows) group(x.app_name, x.day, x.dim, x.value).devices += Number(x.n);
    const late = closed.length
      ? (
          await c.query<{ app_name: string; day: number; dim: Dim; value: string; devices: string[] }>(
            `${tuples}
            SELECT t.app_name, t.day, t.dim, t.value, array_agg(t.device) AS devices FROM tuples t
            WHERE EXISTS (SELECT 1 FROM closed k WHERE k.app_name = t.app_name AND k.day = t.day) GROUP BY 1, 2, 3, 4`,
            params,
          )
        ).rows
      : [];

    const daily = [...groups.values()].filter((g) => g.dim === DIM.event_type);
    const dims = [...groups.values()].filter((g) => g.dim !== DIM.event_type);
    if (daily.length) {
      await c.query(
        `INSERT INTO telemetry_daily (app_id, date, event_type, count, unique_devices)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
         ON CONFLICT (app_id, date, event_type) DO UPDATE SET count = telemetry_daily.count + excluded.count,
           unique_devices = telemetry_daily.unique_devices + excluded.unique_devices`,
        [daily.map((g) => g.app), daily.map((g) => g.date), daily.map((g) => g.value), daily.map((g) => g.count), daily.map((g) => g.devices)],
      );
    }
    if (dims.length) {
      await c.query(
        `INSERT INTO telemetry_daily_dims (app_id, date, dim, value, count, devices)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
         ON CONFLICT (app_id, date, dim, value) DO UPDATE SET count = telemetry_daily_dims.count + excluded.count,
           devices = telemetry_daily_dims.devices + excluded.devices`,
        [dims.map((g) => g.app), dims.map((g) => g.date), dims.map((g) => DIM_NAME[g.dim as Exclude<Dim, 1>]), dims.map((g) => g.value), dims.map((g) => g.count), dims.map((g) => g.devices)],
      );
    }
    // After the counts: a late device may be the first of its value that day, whose row is new.
    for (const l of late) await this.mergeLate(c, l.app_name, dayOfNumber(l.day), l.dim, l.value, l.devices.map((d) => BigInt(d)));
    return rows;
  }

  /** A closed day's late devices into one aggregate's sketch (as store/sqlite/rollup-step.ts mergeLate). */
  private async mergeLate(c: PgClient, app: string, date: string, dim: Dim, value: string, devices: bigint[]): Promise<void> {
    const res =
      dim === DIM.event_type
        ? await c.query<{ devices: bigint; sketch: Buffer | null }>('SELECT unique_devices AS devices, sketch FROM telemetry_daily WHERE app_id = $1 AND date = $2 AND event_type = $3', [app, date, value])
        : await c.query<{ devices: bigint; sketch: Buffer | null }>('SELECT devices, sketch FROM telemetry_daily_dims WHERE app_id = $1 AND date = $2 AND dim = $3 AND value = $4', [app, date, DIM_NAME[dim], value]);
    const row = res.rows[0];
    if (!row) return;
    const sketch = row.sketch ? DeviceSketch.fromBuffer(row.sketch) : new DeviceSketch(sketchPrecision(dim));
    const before = row.sketch ? sketch.count() : 0;
    for (const d of devices) sketch.add(d);
    const count = sketch.exact ? sketch.count() : Number(row.devices) + Math.max(0, sketch.count() - before);
    if (dim === DIM.event_type) await c.query('UPDATE telemetry_daily SET unique_devices = $1, sketch = $2 WHERE app_id = $3 AND date = $4 AND event_type = $5', [count, sketch.toBuffer(), app, date, value]);
    else await c.query('UPDATE telemetry_daily_dims SET devices = $1, sketch = $2 WHERE app_id = $3 AND date = $4 AND dim = $5 AND value = $6', [count, sketch.toBuffer(), app, date, DIM_NAME[dim], value]);
  }

  private async foldCrashes(c: PgClient, from: bigint, to: bigint, days: DayRange): Promise<number> {
    const groups = await c.query<{ app: string; date: string; fingerprint: string; n: bigint; first_seen: bigint; last_seen: bigint; versions: string[]; crash_type: string; message: string | null }>(
      `WITH r AS (SELECT * FROM crash_reports WHERE id > $1 AND id <= $2 AND day >= $3 AND day <= $4),
      g AS (SELECT app_id, day, fingerprint, count(*) AS n, min(timestamp) AS first_seen, max(timestamp) AS last_seen,
                   array_agg(DISTINCT app_version) AS versions FROM r GROUP BY 1, 2, 3),
      s AS (SELECT DISTINCT ON (app_id, day, fingerprint) app_id, day, fingerprint, crash_type, message FROM r ORDER BY app_id, day, fingerprint, id)
      SELECT a.app_id AS app, ${DATE_OF_DAY('g.day')} AS date, g.fingerprint, g.n, g.first_seen, g.last_seen, g.versions, s.crash_type, s.message
      FROM g JOIN s USING (app_id, day, fingerprint) JOIN dim_apps a ON a.id = g.app_id`,
      [from, to, days.first, days.last],
    );
    if (groups.rows.length === 0) return 0;
    const added = await c.query<{ app_id: string; date: string; fingerprint: string; n: bigint }>(
      `WITH ins AS (
        INSERT INTO crash_daily_devices (app_id, date, fingerprint, device_id)
        SELECT DISTINCT a.app_id, ${DATE_OF_DAY('r.day')}, r.fingerprint, r.device_id
        FROM crash_reports r JOIN dim_apps a ON a.id = r.app_id WHERE r.id > $1 AND r.id <= $2 AND r.day >= $3 AND r.day <= $4
        ON CONFLICT DO NOTHING RETURNING app_id, date, fingerprint)
      SELECT app_id, date, fingerprint, count(*) AS n FROM ins GROUP BY 1, 2, 3`,
      [from, to, days.first, days.last],
    );
    const key = (app: string, date: string, fp: string) => `${app}|${date}|${fp}`;
    const addedOf = new Map(added.rows.map((r) => [key(r.app_id, r.date, r.fingerprint), Number(r.n)]));
    const g = groups.rows;
    const stored = await c.query<{ app_id: string; date: string; fingerprint: string; app_versions: string }>(
      `SELECT d.app_id, d.date, d.fingerprint, d.app_versions FROM crash_daily d
       JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(app, date, fp) ON d.app_id = k.app AND d.date = k.date AND d.fingerprint = k.fp`,
      [g.map((x) => x.app), g.map((x) => x.date), g.map((x) => x.fingerprint)],
    );
    const storedOf = new Map(stored.rows.map((r) => [key(r.app_id, r.date, r.fingerprint), JSON.parse(r.app_versions) as string[]]));
    const versions = g.map((x) => JSON.stringify([...new Set([...(storedOf.get(key(x.app, x.date, x.fingerprint)) ?? []), ...x.versions])].sort()));
    // On conflict the stored type and message stay: they are the group's first crash of the day.
    await c.query(
      `INSERT INTO crash_daily (app_id, date, fingerprint, crash_type, message, count, devices, first_seen, last_seen, app_versions)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[])
       ON CONFLICT (app_id, date, fingerprint) DO UPDATE SET count = crash_daily.count + excluded.count,
         devices = crash_daily.devices + excluded.devices, first_seen = least(crash_daily.first_seen, excluded.first_seen),
         last_seen = greatest(crash_daily.last_seen, excluded.last_seen), app_versions = excluded.app_versions`,
      [
        g.map((x) => x.app), g.map((x) => x.date), g.map((x) => x.fingerprint), g.map((x) => x.crash_type), g.map((x) => x.message),
        g.map((x) => x.n), g.map((x) => addedOf.get(key(x.app, x.date, x.fingerprint)) ?? 0), g.map((x) => x.first_seen), g.map((x) => x.last_seen), versions,
      ],
    );
    return g.reduce((n, x) => n + Number(x.n), 0);
  }

  /**
   * Closes every (app, day) with device rows older than OPEN_DAYS: its rows become the aggregates'
   * sketches (the app-wide one last: it marks the day closed) and are deleted, in one transaction.
   */
  private async closeDays(signal?: AbortSignal): Promise<number> {
    const last = firstOpenDay(this.now()) - 1;
    const days = await this.pool.query<{ app: number; day: number }>('SELECT DISTINCT app, day FROM device_days WHERE day <= $1 ORDER BY app, day', [last]);
    let closed = 0;
    for (const { app, day } of days.rows) {
      if (signal?.aborted) break;
      await inTransaction(this.pool, async (c) => {
        const name = (await c.query<{ app_id: string }>('SELECT app_id FROM dim_apps WHERE id = $1', [app])).rows[0]!.app_id;
        const date = dayOfNumber(day);
        const isClosed = await c.query("SELECT 1 FROM telemetry_daily_dims WHERE app_id = $1 AND date = $2 AND dim = '' AND value = '' AND sketch IS NOT NULL", [name, date]);
        if (isClosed.rows.length === 0) {
          const groups = await c.query<{ dim: Dim; value: string; n: bigint; devices: string[] }>(
            'SELECT dim, value, count(*) AS n, array_agg(device) AS devices FROM device_days WHERE app = $1 AND day = $2 GROUP BY dim, value ORDER BY dim DESC, value',
            [app, day],
          );
          for (const g of groups.rows) {
            const sketch = new DeviceSketch(sketchPrecision(g.dim));
            for (const d of g.devices) sketch.add(BigInt(d));
            // The stored count stays exact: it is the number of rows, whatever the sketch estimates.
            if (g.dim === DIM.event_type) await c.query('UPDATE telemetry_daily SET unique_devices = $1, sketch = $2 WHERE app_id = $3 AND date = $4 AND event_type = $5', [g.n, sketch.toBuffer(), name, date, g.value]);
            else await c.query('UPDATE telemetry_daily_dims SET devices = $1, sketch = $2 WHERE app_id = $3 AND date = $4 AND dim = $5 AND value = $6', [g.n, sketch.toBuffer(), name, date, DIM_NAME[g.dim], g.value]);
          }
        }
        await c.query('DELETE FROM device_days WHERE app = $1 AND day = $2', [app, day]);
      });
      closed++;
    }
    return closed;
  }

  /** Removes raw rows before the cutoff day (rolled up first); aggregates stay. */
  async prune(opts: { retentionDays: number; dryRun?: boolean; signal?: AbortSignal; onStep?: () => void }): Promise<PruneSummary> {
    const cutoffDay = retentionCutoffDay(this.now(), opts.retentionDays);
    const cutoff = dayNumberOf(cutoffDay);
    const result: PruneSummary = { cutoffDay, dryRun: !!opts.dryRun, dropped: [], trimmed: [], rolledUpFirst: 0 };
    const parts = await listPgPartitions(this.pool);
    if (opts.dryRun) {
      const waiting = await this.rowsWaiting();
      result.rolledUpFirst = Number(waiting.events + waiting.crashes);
      for (const p of parts) {
        if (lastDayOfMonth(p.month) < cutoffDay) result.dropped.push({ name: p.name, rows: await this.count(p.name) });
        else if (`${p.month}-01` < cutoffDay) result.trimmed.push({ name: p.name, rows: await this.count(p.name, cutoff) });
      }
      return result;
    }
    result.rolledUpFirst = (await this.rollup({ signal: opts.signal, onStep: opts.onStep })).rows;
    for (const kind of ['events', 'crashes'] as const) {
      await this.pool.query(
        `INSERT INTO retention_watermark (kind, kept_from) VALUES ($1, $2)
         ON CONFLICT (kind) DO UPDATE SET kept_from = greatest(retention_watermark.kept_from, excluded.kept_from)`,
        [kind, cutoffDay],
      );
      const position = await this.position(kind);
      for (const p of parts.filter((x) => x.kind === kind)) {
        if (opts.signal?.aborted) return result;
        opts.onStep?.();
        if (lastDayOfMonth(p.month) < cutoffDay) {
          const max = (await this.pool.query<{ m: bigint | null }>(`SELECT max(id) AS m FROM ${p.name}`)).rows[0]?.m ?? 0n;
          if (max > position) throw new Error(`retention: ${p.name} has rows not rolled up yet (up to id ${max}, position ${position}); retry after a rollup`);
          const rows = await this.count(p.name);
          await this.dropPartition(kind, p.name);
          result.dropped.push({ name: p.name, rows });
          this.opts.log?.info('retention dropped partition', { partition: p.name, rows });
        } else if (`${p.month}-01` < cutoffDay) {
          result.trimmed.push({ name: p.name, rows: await this.trim(p.name, cutoff, position, opts) });
        }
      }
    }
    return result;
  }

  private async count(table: string, beforeDay?: number): Promise<number> {
    const res = beforeDay === undefined
      ? await this.pool.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${table}`)
      : await this.pool.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${table} WHERE day < $1`, [beforeDay]);
    return Number(res.rows[0]!.n);
  }

  /** DETACH ... CONCURRENTLY (ingest's inserts into other months go on), then DROP TABLE and its registry row. */
  private async dropPartition(kind: PartitionKind, name: string): Promise<void> {
    const parent = PARTITION_PARENT[kind];
    const state = await this.pool.query<{ pending: boolean }>(
      'SELECT i.inhdetachpending AS pending FROM pg_inherits i WHERE i.inhrelid = $1::regclass AND i.inhparent = $2::regclass',
      [name, parent],
    );
    // Table names come from the registry (partitionName's pattern). CONCURRENTLY cannot run in a transaction.
    if (state.rows[0]?.pending) await this.pool.query(`ALTER TABLE ${parent} DETACH PARTITION ${name} FINALIZE`);
    else if (state.rows[0]) await this.pool.query(`ALTER TABLE ${parent} DETACH PARTITION ${name} CONCURRENTLY`);
    await inTransaction(this.pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_NS_PARTITIONS]);
      await c.query(`DROP TABLE IF EXISTS ${name}`);
      await c.query('DELETE FROM telemetry_partitions WHERE name = $1', [name]);
    });
  }

  /** Deletes a boundary month's rows before the cutoff day, rolled up only, app by app in short transactions. */
  private async trim(table: string, cutoff: number, position: bigint, opts: { signal?: AbortSignal; onStep?: () => void }): Promise<number> {
    const apps = (await this.pool.query<{ id: number }>('SELECT id FROM dim_apps ORDER BY id')).rows.map((r) => r.id);
    let total = 0;
    for (const app of apps) {
      for (;;) {
        if (opts.signal?.aborted) return total;
        const res = await this.pool.query(
          `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE app_id = $1 AND day < $2 AND id <= $3 LIMIT $4)`,
          [app, cutoff, position, PG_TRIM_CHUNK_ROWS],
        );
        total += res.rowCount ?? 0;
        if ((res.rowCount ?? 0) < PG_TRIM_CHUNK_ROWS) break;
        opts.onStep?.();
      }
    }
    return total;
  }

  /**
   * Runs `fn` as the one process running `job` now: a session advisory lock on a connection held for the
   * run (a crashed holder's session ends and frees it), and a job_leases row saying who, for operators.
   * Throws PgLeaseBusyError when another process holds it for longer than `waitMs` (default 0: the
   * scheduler skips its tick; `ops` waits a little, as on SQLite).
   */
  async withLease<T>(job: string, fn: () => Promise<T>, opts: { waitMs?: number } = {}): Promise<T> {
    const client = await this.pool.connect();
    const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    try {
      const deadline = Date.now() + (opts.waitMs ?? 0);
      for (;;) {
        const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_NS_JOBS, hash32(job)]);
        if (got.rows[0]!.ok) break;
        if (Date.now() >= deadline) {
          const who = await client.query<{ holder: string }>('SELECT holder FROM job_leases WHERE name = $1', [job]);
          throw new PgLeaseBusyError(job, who.rows[0]?.holder ?? 'unknown');
        }
        await delay(PG_LEASE_POLL_MS);
      }
      try {
        await client.query(
          `INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at`,
          [job, holder, this.now() + LEASE_TTL_MS],
        );
        return await fn();
      } finally {
        await client.query('DELETE FROM job_leases WHERE name = $1 AND holder = $2', [job, holder]).catch(() => {});
        await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NS_JOBS, hash32(job)]).catch(() => {});
      }
    } finally {
      client.release();
    }
  }

  /** Runs a job under the maintenance lease, recording it in job_runs (as store/sqlite/run-job.ts does on SQLite). */
  async runJob<T>(job: JobName, fn: () => Promise<T>, opts: { waitMs?: number } = {}): Promise<T> {
    return this.withLease('maintenance', async () => {
      const started = this.now();
      await this.pool.query(
        `INSERT INTO job_runs (job, started_at, finished_at, ok, summary, error) VALUES ($1, $2, NULL, NULL, NULL, NULL)
         ON CONFLICT (job) DO UPDATE SET started_at = excluded.started_at, finished_at = NULL, ok = NULL, summary = NULL, error = NULL`,
        [job, started],
      );
      try {
        const out = await fn();
        const end = this.now();
        await this.pool.query('UPDATE job_runs SET finished_at = $2, ok = true, last_ok_at = $2, summary = $3 WHERE job = $1', [job, end, JSON.stringify(out, (_, v) => (typeof v === 'bigint' ? Number(v) : v))]);
        return out;
      } catch (err) {
        await this.pool.query('UPDATE job_runs SET finished_at = $2, ok = false, error = $3 WHERE job = $1', [job, this.now(), (err as Error).message]).catch(() => {});
        throw err;
      }
    }, opts);
  }

  /** The scheduled rollup (and `ops rollup`, which waits up to `waitMs` for the lease): under the lease, recorded. */
  runRollup(opts: { signal?: AbortSignal; waitMs?: number } = {}): Promise<RollupStats> {
    return this.runJob('rollup', () => this.rollup({ signal: opts.signal }), { waitMs: opts.waitMs });
  }

  /** `ops rollup --from --to`: a rebuild of those days, under the lease (waiting up to `waitMs`), recorded as a rollup. */
  runRebuild(opts: { from: string; to: string; signal?: AbortSignal; waitMs?: number }): Promise<PgRebuildStats> {
    return this.runJob('rollup', () => this.rebuild(opts), { waitMs: opts.waitMs });
  }

  /** The scheduled retention (and `ops prune`), which also makes the partitions of this month and the next. */
  runPrune(opts: { retentionDays: number; signal?: AbortSignal; waitMs?: number }): Promise<PruneSummary> {
    return this.runJob('prune', async () => {
      await this.ensurePartitionsAhead();
      return this.prune({ retentionDays: opts.retentionDays, signal: opts.signal });
    }, { waitMs: opts.waitMs });
  }

  async pendingRows(): Promise<number> {
    const waiting = await this.rowsWaiting();
    return Number(waiting.events + waiting.crashes);
  }

  /** The jobs read through the backend's pool, which ends idle connections by itself: nothing to free. */
  async rest(): Promise<void> {}

  readonly holding = false;

  /** The pool is the backend's (store/backend.ts closes it). */
  async close(): Promise<void> {}

  /** The last run of each job, for `ops stats` and metrics. */
  async jobRuns(): Promise<JobRun[]> {
    const res = await this.pool.query<{ job: JobName; started_at: bigint; finished_at: bigint | null; ok: boolean | null; summary: string | null; error: string | null; last_ok_at: bigint | null }>(
      'SELECT job, started_at, finished_at, ok, summary, error, last_ok_at FROM job_runs ORDER BY job',
    );
    const n = (v: bigint | null) => (v === null ? null : Number(v));
    return res.rows.map((r) => ({ job: r.job, started_at: Number(r.started_at), finished_at: n(r.finished_at), ok: r.ok === null ? null : r.ok ? 1 : 0, summary: r.summary, error: r.error, last_ok_at: n(r.last_ok_at) }));
  }
}

