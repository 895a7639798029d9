import type { DB } from '@mosis/shared';
import { DeviceSketch } from '../../sketch/device-sketch.js';
import { listPartitions } from './partitions.js';
import { hasAppVersion, rollupPosition } from './aggregates.js';
import { addHex, devicesOfHex, DIM, DIM_NAME, firstOpenDay, sketchPrecision, type Dim } from '../aggregates.js';
import { dayNumberOf, dayOfNumber, daysBetween, lastDayOfMonth, monthsBetween } from '../../days.js';
import { runNow, runPipeline } from './pipeline.js';
import { writeTransaction, type RollupOptions } from './rollup.js';
import { crashQueries, eventQueries, StepWriter, type CrashDevices, type CrashGroup, type CrashSample, type DeviceTuples, type EventCount } from './rollup-step.js';
import type { SnapshotQuery } from './snapshot-reader.js';

/**
 * The repair path (`ops rollup --from --to`): each app's aggregates of those days recomputed from the raw
 * rows up to the partition's rollup position, replacing what is stored (counts, and device rows for open
 * days or sketches for closed ones). One (kind, app, day) per snapshot and write transaction; the write
 * first checks the position is still the snapshot's, so the day then equals the fold of exactly the rows
 * the incremental rollup has folded, and it carries on from its positions. Days before the retention
 * watermark, and days whose partition is gone, keep their aggregates (their raw rows are gone or going).
 */

export interface RebuildStats {
  /** (kind, app, day) aggregates replaced. */
  days: number;
  /** Raw rows read to compute them. */
  rows: number;
  /** Days left as they were: before the retention watermark. */
  skippedDays: number;
  aborted: boolean;
}

interface Unit {
  kind: 'events' | 'crashes';
  table: string;
  app: number;
  day: number;
  appVersion: boolean;
}

/** Rebuilds every app's aggregates of `from`..`to` (both included). */
export async function rebuildRange(opts: RollupOptions & { from: string; to: string }): Promise<RebuildStats> {
  const { db } = opts;
  const now = (opts.now ?? Date.now)();
  const writer = new StepWriter(db);
  const stats: RebuildStats = { days: 0, rows: 0, skippedDays: 0, aborted: false };
  const apps = db.prepare('SELECT id FROM dim_apps ORDER BY id').pluck().all() as number[];
  const units: Unit[] = [];
  for (const kind of ['events', 'crashes'] as const) {
    const parts = new Map(listPartitions(db, kind).map((p) => [p.month, p.name]));
    for (const month of monthsBetween(opts.from, opts.to)) {
      const table = parts.get(month);
      if (!table) continue;
      const appVersion = kind === 'events' && hasAppVersion(db, table);
      const first = opts.from > `${month}-01` ? opts.from : `${month}-01`;
      const last = opts.to < lastDayOfMonth(month) ? opts.to : lastDayOfMonth(month);
      for (const day of daysBetween(first, last)) for (const app of apps) units.push({ kind, table, app, day: dayNumberOf(day), appVersion });
    }
  }
  const tasks = units.map((u) => ({
    queries: unitQueries(u),
    apply: (snapshot: (unknown[] | null)[]) => {
      const r = writeUnit(db, writer, u, snapshot, firstOpenDay(now));
      if (r === 'skipped') stats.skippedDays++;
      else if (r !== 'gone') {
        stats.days++;
        stats.rows += r;
      }
    },
  }));
  const pipeline = { reader: opts.reader, gate: opts.exclusive ?? runNow, transaction: writeTransaction(db), signal: opts.signal, onStep: opts.onStep };
  const done = await runPipeline(pipeline, tasks);
  if (stats.skippedDays) opts.log?.warn('rollup rebuild left days before the retention watermark as they were', { days: stats.skippedDays });
  return { ...stats, aborted: done.aborted };
}

function unitQueries(u: Unit): SnapshotQuery[] {
  const rows = {
    table: u.table,
    // Written exactly so, the day condition uses the events index (app_id, timestamp / 86400000, ...).
    where: `app_id = ? AND timestamp / 86400000 = ? AND id <= coalesce((SELECT last_id FROM rollup_positions WHERE name = ?), 0)`,
    params: [u.app, u.day, u.table],
    appVersion: u.appVersion,
  };
  return [
    { sql: 'SELECT kept_from FROM retention_watermark WHERE kind = ?', params: [u.kind] },
    { sql: 'SELECT last_id FROM rollup_positions WHERE name = ?', params: [u.table] },
    ...(u.kind === 'events' ? eventQueries(rows, { onlyNewDevices: false }) : crashQueries(rows)),
  ];
}

/** One (kind, app, day) replaced in one transaction: its raw row count, or why it was left alone. */
function writeUnit(db: DB, writer: StepWriter, u: Unit, snapshot: (unknown[] | null)[], openFrom: number): number | 'skipped' | 'gone' {
  const [watermark, position, ...groups] = snapshot as [{ kept_from: string }[], { last_id: number }[], ...(unknown[] | null)[]];
  if (groups[0] === null) return 'gone';
  const app = writer.appName(u.app);
  const date = dayOfNumber(u.day);
  return db
    .transaction((): number | 'skipped' => {
      const at = position[0]?.last_id ?? 0;
      if (rollupPosition(db, u.table) !== at) throw new Error(`rollup rebuild: ${u.table} moved from ${at} during the rebuild (retry)`);
      const current = db.prepare('SELECT kept_from FROM retention_watermark WHERE kind = ?').pluck().get(u.kind) as string | undefined;
      const keptFrom = [watermark[0]?.kept_from, current].filter((d): d is string => !!d).sort().pop();
      if (keptFrom && date < keptFrom) return 'skipped';
      return u.kind === 'events'
        ? replaceEventDay(db, u, app, date, groups as [EventCount[], DeviceTuples[]], u.day >= openFrom)
        : replaceCrashDay(db, app, date, groups as [CrashGroup[], CrashSample[], CrashDevices[]]);
    })
    .immediate();
}

function replaceEventDay(db: DB, u: Unit, app: string, date: string, [counts, tuples]: [EventCount[], DeviceTuples[]], open: boolean): number {
  db.prepare('DELETE FROM telemetry_daily WHERE app_id = ? AND date = ?').run(app, date);
  db.prepare('DELETE FROM telemetry_daily_dims WHERE app_id = ? AND date = ?').run(app, date);
  db.prepare('DELETE FROM device_days WHERE app = ? AND day = ?').run(u.app, u.day);
  const groups = new Map<string, { dim: Dim; value: string; count: number; devices: number; sketch: Buffer | null }>();
  const add = (dim: Dim, value: string, n: number) => {
    const g = groups.get(`${dim}|${value}`);
    if (g) g.count += n;
    else groups.set(`${dim}|${value}`, { dim, value, count: n, devices: 0, sketch: null });
  };
  let rows = 0;
  for (const c of counts) {
    add(DIM.all, '', c.n);
    add(DIM.event_type, c.type, c.n);
    add(DIM.mosis_version, c.mv, c.n);
    add(DIM.app_version, c.av, c.n);
    rows += c.n;
  }
  // Devices: exact rows while the day is open, a sketch once closed; the count is exact either way.
  const addDevice = db.prepare('INSERT INTO device_days (app, day, dim, value, device) VALUES (?, ?, ?, ?, ?)');
  for (const t of tuples) {
    const g = groups.get(`${t.dim}|${t.value}`);
    if (!g) continue;
    g.devices = t.n;
    if (open) for (const d of devicesOfHex(t.devices)) addDevice.run(u.app, u.day, t.dim, t.value, d);
    else g.sketch = addHex(new DeviceSketch(sketchPrecision(t.dim)), t.devices).toBuffer();
  }
  const daily = db.prepare('INSERT INTO telemetry_daily (app_id, date, event_type, count, unique_devices, sketch) VALUES (?, ?, ?, ?, ?, ?)');
  const dims = db.prepare('INSERT INTO telemetry_daily_dims (app_id, date, dim, value, count, devices, sketch) VALUES (?, ?, ?, ?, ?, ?, ?)');
  for (const g of groups.values()) {
    if (g.dim === DIM.event_type) daily.run(app, date, g.value, g.count, g.devices, g.sketch);
    else dims.run(app, date, DIM_NAME[g.dim], g.value, g.count, g.devices, g.sketch);
  }
  return rows;
}

function replaceCrashDay(db: DB, app: string, date: string, [groups, samples, devices]: [CrashGroup[], CrashSample[], CrashDevices[]]): number {
  db.prepare('DELETE FROM crash_daily WHERE app_id = ? AND date = ?').run(app, date);
  db.prepare('DELETE FROM crash_daily_devices WHERE app_id = ? AND date = ?').run(app, date);
  const sample = new Map(samples.map((s) => [s.fingerprint, s]));
  const devicesOf = new Map(devices.map((d) => [d.fingerprint, d]));
  const insert = db.prepare(
    `INSERT INTO crash_daily (app_id, date, fingerprint, crash_type, message, count, devices, first_seen, last_seen, app_versions)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertDevice = db.prepare('INSERT INTO crash_daily_devices (app_id, date, fingerprint, device_id) VALUES (?, ?, ?, ?)');
  let rows = 0;
  for (const g of groups) {
    const s = sample.get(g.fingerprint);
    const d = devicesOf.get(g.fingerprint);
    const versions = (JSON.parse(g.versions) as string[]).sort();
    insert.run(app, date, g.fingerprint, s?.crash_type ?? '', s?.message ?? null, g.n, d?.n ?? 0, g.first_seen, g.last_seen, JSON.stringify(versions));
    for (const device of devicesOfHex(d?.devices)) insertDevice.run(app, date, g.fingerprint, device);
    rows += g.n;
  }
  return rows;
}
