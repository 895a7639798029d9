import type { DB, Logger } from '@mosis/shared';
import { listPartitions, partitionName, type PartitionKind } from '../store/partitions.js';
import { DAY_MS, dayOfNumber, dayStartMs, daysBetween, lastDayOfMonth, monthsBetween } from './days.js';
import type { SnapshotQuery, SnapshotReader } from './snapshot-reader.js';

/**
 * Rollup: keeps `telemetry_daily` (and the crash aggregates `crash_daily`, `crash_daily_devices`) equal to
 * a full GROUP BY over the raw partitions, recomputing only the (app, day) pairs that ingest marked dirty.
 *
 * For each unit (one kind, one app, days within one month):
 *  1. a snapshot read (worker thread, one read transaction) gets the dirty marks with their gen, the
 *     retention watermark and the aggregate of those days;
 *  2. one short write transaction replaces the aggregate rows of each day and deletes each mark whose gen
 *     is unchanged. A changed gen means rows arrived after the snapshot: the mark stays for the next run.
 * A crash between the two leaves the old aggregate and the mark; a crash inside the write rolls it back:
 * per (app, day) the aggregate is the old one or the new one, never a mix. Runs are serialized by the
 * maintenance lease: two runs interleaving could otherwise let an older snapshot overwrite a newer one
 * after the mark was deleted and re-created (gen starts again at 1).
 */

export interface RollupOptions {
  /** telemetry.db, read-write (ingest's connection, or the ops command's). */
  db: DB;
  reader: SnapshotReader;
  signal?: AbortSignal;
  log?: Logger;
  /** Called between units (renews the maintenance lease). */
  onStep?: () => void;
  /** Only marks of days before this one (retention rolls those up before deleting raw rows). */
  beforeDay?: string;
  /** Runs each write transaction; ingest passes its writer's slot between group commits. */
  exclusive?: WriteGate;
}

/** Runs a synchronous write transaction when the connection's writer allows it. */
export type WriteGate = <T>(fn: () => T) => Promise<T>;

/** No gate: run the write at once (ops commands, tests). */
export const runNow: WriteGate = async (fn) => fn();

export interface RollupStats {
  /** Units computed (one kind, one app, a range of days in one month). */
  units: number;
  /** (app, day) aggregates written. */
  days: number;
  /** Raw rows read to compute them. */
  rawRows: number;
  /** Marks left dirty because rows arrived during the run. */
  leftDirty: number;
  /** Days not recomputed because retention already removed (some of) their raw rows. */
  skippedDays: number;
  aborted: boolean;
}

interface Unit {
  kind: PartitionKind;
  dimApp: number;
  appId: string;
  fromDay: string;
  toDay: string;
}

interface Mark {
  kind: PartitionKind;
  app_id: number;
  day: string;
  gen: number;
}

/** Recomputes every dirty (kind, app, day). Marks created during the run wait for the next one. */
export async function rollupDirty(opts: RollupOptions): Promise<RollupStats> {
  const { db } = opts;
  const marks = (
    opts.beforeDay
      ? db.prepare('SELECT kind, app_id, day, gen FROM rollup_dirty WHERE day < ? ORDER BY day, kind, app_id').all(opts.beforeDay)
      : db.prepare('SELECT kind, app_id, day, gen FROM rollup_dirty ORDER BY day, kind, app_id').all()
  ) as Mark[];
  const apps = appIds(db);
  const units = marks.map((m) => ({ kind: m.kind, dimApp: m.app_id, appId: apps.get(m.app_id) ?? '', fromDay: m.day, toDay: m.day }));
  return runUnits(opts, units);
}

/**
 * Recomputes every app's aggregates for the days `from`..`to` (both included), dirty or not: the repair
 * path (`ops rollup --from --to`). Days whose raw rows retention has removed keep their aggregates.
 */
export async function rebuildRange(opts: RollupOptions & { from: string; to: string }): Promise<RollupStats> {
  const units: Unit[] = [];
  const apps = appIds(opts.db);
  for (const kind of ['events', 'crashes'] as const) {
    const months = new Set(listPartitions(opts.db, kind).map((p) => p.month));
    for (const month of monthsBetween(opts.from, opts.to)) {
      if (!months.has(month)) continue;
      const fromDay = opts.from > `${month}-01` ? opts.from : `${month}-01`;
      const last = lastDayOfMonth(month);
      const toDay = opts.to < last ? opts.to : last;
      for (const [dimApp, appId] of apps) units.push({ kind, dimApp, appId, fromDay, toDay });
    }
  }
  return runUnits(opts, units);
}

function appIds(db: DB): Map<number, string> {
  const rows = db.prepare('SELECT id, app_id FROM dim_apps').all() as { id: number; app_id: string }[];
  return new Map(rows.map((r) => [r.id, r.app_id]));
}

/** Snapshot reads queued ahead on the worker, so it computes the next units while writes wait their turn. */
export const PREFETCH_UNITS = 8;
/** Units whose snapshots are ready are written in one writer slot (each its own transaction), up to... */
export const WRITE_BATCH_UNITS = 32;
/** ...this much writer time per slot: ingest's next group commit waits at most about this long. */
export const WRITE_SLOT_BUDGET_MS = 10;

interface Pending {
  unit: Unit;
  done: boolean;
  snapshot?: (unknown[] | null)[];
  error?: unknown;
  promise: Promise<void>;
}

async function runUnits(opts: RollupOptions, units: Unit[]): Promise<RollupStats> {
  const stats: RollupStats = { units: 0, days: 0, rawRows: 0, leftDirty: 0, skippedDays: 0, aborted: false };
  const gate = opts.exclusive ?? runNow;
  const queue: Pending[] = [];
  let next = 0;
  // Units are distinct (kind, app, days), so reading one while another's write waits is safe.
  const fill = () => {
    while (queue.length < PREFETCH_UNITS && next < units.length && !opts.signal?.aborted) {
      const p: Pending = { unit: units[next++]!, done: false, promise: Promise.resolve() };
      p.promise = opts.reader.read(unitQueries(p.unit)).then(
        (snapshot) => void Object.assign(p, { snapshot, done: true }),
        (error: unknown) => void Object.assign(p, { error, done: true }),
      );
      queue.push(p);
    }
  };
  try {
    for (fill(); queue.length; fill()) {
      await queue[0]!.promise;
      opts.onStep?.();
      const ready: Pending[] = [];
      while (ready.length < WRITE_BATCH_UNITS && queue[0]?.done) ready.push(queue.shift()!);
      const failed = ready.find((p) => p.error !== undefined);
      if (failed) throw failed.error;
      await gate(() => {
        const start = performance.now();
        for (const [i, p] of ready.entries()) {
          // Over budget: hand the rest back for the next slot.
          if (i > 0 && performance.now() - start > WRITE_SLOT_BUDGET_MS) {
            queue.unshift(...ready.slice(i));
            break;
          }
          const result = writeUnit(opts.db, p.unit, p.snapshot!);
          stats.units++;
          stats.days += result.days;
          stats.rawRows += result.rawRows;
          stats.leftDirty += result.leftDirty;
          stats.skippedDays += result.skippedDays;
          if (result.skippedDays) {
            opts.log?.warn('rollup skipped days older than the retention watermark', { kind: p.unit.kind, app_id: p.unit.appId, from: p.unit.fromDay, to: p.unit.toDay });
          }
        }
      });
      if (opts.signal?.aborted) {
        stats.aborted = true;
        break;
      }
    }
  } finally {
    // Reads still in flight (abort, error) settle before the reader may be closed; their results are dropped.
    await Promise.all(queue.map((p) => p.promise));
  }
  if (next < units.length) stats.aborted = true;
  return stats;
}

/**
 * An app's rows of a range of days. Both forms of the range are given so that either index of an events
 * partition serves it: (app_id, timestamp / 86400000), or (app_id, timestamp) in partitions created before.
 */
const DAY_RANGE = `app_id = ? AND timestamp / ${DAY_MS} BETWEEN ? AND ? AND timestamp >= ? AND timestamp < ?`;

/** The snapshot of one unit: marks, watermark, then the kind's aggregate queries (null when the partition is gone). */
function unitQueries(u: Unit): SnapshotQuery[] {
  const part = partitionName(u.kind, u.fromDay.slice(0, 7));
  const range = [u.dimApp, dayStartMs(u.fromDay), dayStartMs(u.toDay) + DAY_MS];
  const dayRange = [u.dimApp, dayStartMs(u.fromDay) / DAY_MS, dayStartMs(u.toDay) / DAY_MS, ...range.slice(1)];
  const common: SnapshotQuery[] = [
    { sql: 'SELECT day, gen FROM rollup_dirty WHERE kind = ? AND app_id = ? AND day BETWEEN ? AND ?', params: [u.kind, u.dimApp, u.fromDay, u.toDay] },
    { sql: 'SELECT kept_from FROM retention_watermark WHERE kind = ?', params: [u.kind] },
  ];
  if (u.kind === 'events') {
    return [
      ...common,
      {
        ifTable: part,
        // Group on the integer type id first, then name it: the join runs once per group, not per row.
        sql: `SELECT g.dn, t.name AS event_type, g.count, g.unique_devices
          FROM (SELECT timestamp / ${DAY_MS} AS dn, event_type, count(*) AS count, count(DISTINCT device_id) AS unique_devices
                FROM ${part} WHERE ${DAY_RANGE} GROUP BY dn, event_type) g
          JOIN dim_event_types t ON t.id = g.event_type`,
        params: dayRange,
      },
    ];
  }
  return [
    ...common,
    {
      ifTable: part,
      sql: `SELECT timestamp / ${DAY_MS} AS dn, fingerprint, count(*) AS count, count(DISTINCT device_id) AS devices,
          min(timestamp) AS first_seen, max(timestamp) AS last_seen, json_group_array(DISTINCT app_version) AS app_versions
        FROM ${part} WHERE app_id = ? AND timestamp >= ? AND timestamp < ? GROUP BY dn, fingerprint`,
      params: range,
    },
    {
      ifTable: part,
      // The sample type and message of a group: its first stored crash that day.
      sql: `SELECT timestamp / ${DAY_MS} AS dn, fingerprint, crash_type, message FROM ${part} WHERE id IN (
          SELECT min(id) FROM ${part} WHERE app_id = ? AND timestamp >= ? AND timestamp < ? GROUP BY timestamp / ${DAY_MS}, fingerprint)`,
      params: range,
    },
    {
      ifTable: part,
      sql: `SELECT DISTINCT timestamp / ${DAY_MS} AS dn, fingerprint, device_id FROM ${part} WHERE app_id = ? AND timestamp >= ? AND timestamp < ?`,
      params: range,
      safeIntegers: true,
    },
  ];
}

interface EventAgg {
  dn: number;
  event_type: string;
  count: number;
  unique_devices: number;
}
interface CrashAgg {
  dn: number;
  fingerprint: string;
  count: number;
  devices: number;
  first_seen: number;
  last_seen: number;
  app_versions: string;
}
interface CrashSample {
  dn: number;
  fingerprint: string;
  crash_type: string;
  message: string | null;
}
interface CrashDevice {
  dn: bigint;
  fingerprint: string;
  device_id: bigint;
}

interface UnitResult {
  days: number;
  rawRows: number;
  leftDirty: number;
  skippedDays: number;
}

/** One short write transaction: replace each day's aggregate, clear the marks whose gen is unchanged. */
function writeUnit(db: DB, u: Unit, snapshot: (unknown[] | null)[]): UnitResult {
  const [marks, watermark, ...aggregates] = snapshot as [{ day: string; gen: number }[], { kept_from: string }[], ...(unknown[] | null)[]];
  const partitionGone = aggregates[0] === null;
  const write = db.transaction((): UnitResult => {
    const result: UnitResult = { days: 0, rawRows: 0, leftDirty: 0, skippedDays: 0 };
    // The watermark may have moved since the snapshot (a prune in another process): take the later one.
    const current = db.prepare('SELECT kept_from FROM retention_watermark WHERE kind = ?').get(u.kind) as { kept_from: string } | undefined;
    const keptFrom = [watermark[0]?.kept_from, current?.kept_from].filter(Boolean).sort().pop();
    if (!partitionGone) {
      const days = daysBetween(u.fromDay, u.toDay).filter((day) => {
        const keep = !keptFrom || day >= keptFrom;
        if (!keep) result.skippedDays++;
        return keep;
      });
      result.rawRows = u.kind === 'events' ? writeEventDays(db, u, days, aggregates) : writeCrashDays(db, u, days, aggregates);
      result.days = days.length;
    }
    const clear = db.prepare('DELETE FROM rollup_dirty WHERE kind = ? AND app_id = ? AND day = ? AND gen = ?');
    for (const m of marks) if (clear.run(u.kind, u.dimApp, m.day, m.gen).changes === 0) result.leftDirty++;
    return result;
  });
  return write.immediate();
}

function writeEventDays(db: DB, u: Unit, days: string[], [rows]: (unknown[] | null)[]): number {
  const byDay = groupByDay(rows as EventAgg[]);
  const del = db.prepare('DELETE FROM telemetry_daily WHERE app_id = ? AND date = ?');
  const ins = db.prepare('INSERT INTO telemetry_daily (app_id, date, event_type, count, unique_devices) VALUES (?, ?, ?, ?, ?)');
  let raw = 0;
  for (const day of days) {
    del.run(u.appId, day);
    for (const r of byDay.get(day) ?? []) {
      ins.run(u.appId, day, r.event_type, r.count, r.unique_devices);
      raw += r.count;
    }
  }
  return raw;
}

function writeCrashDays(db: DB, u: Unit, days: string[], [aggs, samples, devices]: (unknown[] | null)[]): number {
  const byDay = groupByDay(aggs as CrashAgg[]);
  const sample = new Map((samples as CrashSample[]).map((s) => [`${dayOfNumber(s.dn)}|${s.fingerprint}`, s]));
  const devicesByDay = new Map<string, CrashDevice[]>();
  for (const d of devices as CrashDevice[]) {
    const day = dayOfNumber(Number(d.dn));
    let list = devicesByDay.get(day);
    if (!list) devicesByDay.set(day, (list = []));
    list.push(d);
  }
  const delAgg = db.prepare('DELETE FROM crash_daily WHERE app_id = ? AND date = ?');
  const delDev = db.prepare('DELETE FROM crash_daily_devices WHERE app_id = ? AND date = ?');
  const insAgg = db.prepare(
    `INSERT INTO crash_daily (app_id, date, fingerprint, crash_type, message, count, devices, first_seen, last_seen, app_versions)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insDev = db.prepare('INSERT INTO crash_daily_devices (app_id, date, fingerprint, device_id) VALUES (?, ?, ?, ?)');
  let raw = 0;
  for (const day of days) {
    delAgg.run(u.appId, day);
    delDev.run(u.appId, day);
    for (const r of byDay.get(day) ?? []) {
      const s = sample.get(`${day}|${r.fingerprint}`);
      const versions = (JSON.parse(r.app_versions) as string[]).sort();
      insAgg.run(u.appId, day, r.fingerprint, s?.crash_type ?? '', s?.message ?? null, r.count, r.devices, r.first_seen, r.last_seen, JSON.stringify(versions));
      raw += r.count;
    }
    for (const d of devicesByDay.get(day) ?? []) insDev.run(u.appId, day, d.fingerprint, d.device_id);
  }
  return raw;
}

function groupByDay<T extends { dn: number }>(rows: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const day = dayOfNumber(r.dn);
    let list = out.get(day);
    if (!list) out.set(day, (list = []));
    list.push(r);
  }
  return out;
}
