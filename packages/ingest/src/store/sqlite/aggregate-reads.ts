import type { DB } from '@mosis/shared';
import { dayNumberOf, periodStart, periodsOf } from '../../days.js';
import { BREAKDOWN_DATA_KEY, BREAKDOWN_VALUE_MAX_CHARS, MAX_BREAKDOWN_ITEMS, MAX_CRASH_GROUP_APP_VERSIONS } from '../../limits.js';
import { ACTIVE_DEVICES_PRECISION, DeviceSketch } from '../../sketch/device-sketch.js';
import { listPartitions } from './partitions.js';
import type { ActiveDevices, Breakdown, BreakdownBy, CrashGroup, DailyCount, DayRange, DeviceInterval, Summary, TelemetryReads, AggregateReads } from '../reads.js';
import { devicesHex, hasAppVersion } from './aggregates.js';
import { addHex, DIM, DIM_NAME, sketchPrecision, type Dim } from '../aggregates.js';

/**
 * The aggregate reads of TelemetryReads on telemetry.db (aggregates.ts has the layout). Each method reads
 * in one read transaction, so its numbers come from one snapshot. Distinct devices over several days are
 * the union of the days' sketches (closed days) and device rows (open days): a device counts once per
 * range. A read before a table exists (ingest not started or not migrated yet) answers empty.
 */
export class SqliteAggregateReads implements AggregateReads {
  /** `db`: telemetry.db read-only, or undefined while the file does not exist yet. */
  constructor(private readonly db: () => DB | undefined) {}

  async dailyCounts(q: DayRange & { eventType?: string }): Promise<DailyCount[]> {
    return this.read([], (db) =>
      q.eventType === undefined
        ? (db
            .prepare('SELECT date, event_type, count, unique_devices FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ? ORDER BY date, event_type')
            .all(q.appId, q.from, q.to) as DailyCount[])
        : (db
            .prepare('SELECT date, event_type, count, unique_devices FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ? AND event_type = ? ORDER BY date')
            .all(q.appId, q.from, q.to, q.eventType) as DailyCount[]),
    );
  }

  async eventTypeCount(q: DayRange & { cap?: number }): Promise<number> {
    // With a cap, the scan stops at cap + 1 types however many the app has: a refusal costs no more than an answer.
    const limit = q.cap === undefined ? -1 : q.cap + 1;
    return this.read(0, (db) =>
      db
        .prepare('SELECT count(*) FROM (SELECT DISTINCT event_type FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ? LIMIT ?)')
        .pluck()
        .get(q.appId, q.from, q.to, limit) as number,
    );
  }

  async activeDevices(q: DayRange & { interval: DeviceInterval }): Promise<ActiveDevices> {
    const periods = periodsOf(q.from, q.to, q.interval);
    const empty: ActiveDevices = { items: periods.map((p) => ({ period_start: p, devices: 0 })), total_devices: 0 };
    return this.read(empty, (db) => {
      const total = new DeviceSketch(ACTIVE_DEVICES_PRECISION);
      const unions = new Map(periods.map((p) => [p, new DeviceSketch(ACTIVE_DEVICES_PRECISION)]));
      const dayCounts = new Map<string, number>();
      for (const d of allDeviceDays(db, q)) {
        const sketch = d.sketch();
        total.merge(sketch);
        // A day's own count is stored (exact); a week or a month is the union of its days.
        if (q.interval === 'day') dayCounts.set(d.date, d.devices);
        else unions.get(periodStart(d.date, q.interval))!.merge(sketch);
      }
      const devicesOf = (p: string) => (q.interval === 'day' ? (dayCounts.get(p) ?? 0) : unions.get(p)!.count());
      return { items: periods.map((p) => ({ period_start: p, devices: devicesOf(p) })), total_devices: total.count() };
    });
  }

  async breakdown(q: DayRange & { by: BreakdownBy; eventType?: string; limit: number }): Promise<Breakdown> {
    const limit = Math.max(1, Math.min(MAX_BREAKDOWN_ITEMS, Math.floor(q.limit)));
    if (q.by.kind === 'data' && !BREAKDOWN_DATA_KEY.test(q.by.key)) throw new RangeError(`breakdown: a data key must match ${BREAKDOWN_DATA_KEY}`);
    return this.read({ items: [], other_count: 0 }, (db) => {
      const by = q.by;
      if (by.kind === 'data') return rawBreakdown(db, q, { data: by.key }, limit);
      if (by.kind === 'event_type') return eventTypeBreakdown(db, q, limit);
      // The version dimensions are kept for all events of a day, not per type: per type, from raw rows.
      if (q.eventType !== undefined) return rawBreakdown(db, q, { column: by.kind }, limit);
      return dimBreakdown(db, q, by.kind === 'mosis_version' ? DIM.mosis_version : DIM.app_version, limit);
    });
  }

  async summary(q: DayRange & { topEventTypes: number }): Promise<Summary> {
    const none: Summary = { events: 0, devices: 0, crashes: 0, crashed_devices: 0, crash_free_devices_pct: null, top_event_types: [] };
    return this.read(none, (db) => {
      const events = (db.prepare('SELECT sum(count) FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ?').pluck().get(q.appId, q.from, q.to) as number | null) ?? 0;
      const top = db
        .prepare('SELECT event_type, sum(count) AS count FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ? GROUP BY event_type ORDER BY count DESC, event_type LIMIT ?')
        .all(q.appId, q.from, q.to, Math.max(0, q.topEventTypes)) as { event_type: string; count: number }[];
      const all = new DeviceSketch(ACTIVE_DEVICES_PRECISION);
      for (const d of allDeviceDays(db, q)) all.merge(d.sketch());
      // Devices that only crashed are devices too: crashed ⊆ devices.
      const crashDevices = db
        .prepare(`SELECT ${devicesHex('device_id')} FROM (SELECT DISTINCT device_id FROM crash_daily_devices WHERE app_id = ? AND date BETWEEN ? AND ?)`)
        .pluck()
        .get(q.appId, q.from, q.to) as string | null;
      addHex(all, crashDevices);
      const crashes = (db.prepare('SELECT sum(count) FROM crash_daily WHERE app_id = ? AND date BETWEEN ? AND ?').pluck().get(q.appId, q.from, q.to) as number | null) ?? 0;
      const crashed = crashDevices ? crashDevices.length / 16 : 0;
      const devices = Math.max(all.count(), crashed);
      return {
        events,
        devices,
        crashes,
        crashed_devices: crashed,
        crash_free_devices_pct: devices ? Math.round((10_000 * (devices - crashed)) / devices) / 100 : null,
        top_event_types: top,
      };
    });
  }

  async crashGroups(q: DayRange & { limit: number }): Promise<CrashGroup[]> {
    return this.read([], (db) => crashGroups(db, q, q.limit, MAX_CRASH_GROUP_APP_VERSIONS));
  }

  /** Runs `fn` in one read transaction; no database yet, or a table not there yet, answers `empty`. */
  private read<T>(empty: T, fn: (db: DB) => T): T {
    const db = this.db();
    if (!db?.open) return empty;
    try {
      return db.transaction(fn)(db);
    } catch (err) {
      if (isMissingSchema(err)) return empty;
      throw err;
    }
  }
}

/** "no such table" (not migrated yet, a partition just dropped) or "no such column" (not migrated to 0006 yet). */
function isMissingSchema(err: unknown): boolean {
  return /no such (table|column)/i.test((err as Error)?.message ?? '');
}

/** One day's devices of one aggregate row: its sketch when closed, else its device rows. */
interface DayDevices {
  date: string;
  /** The stored count of that day (exact). */
  devices: number;
  sketch(): DeviceSketch;
}

/** The app-wide devices of each day in range (dim ''). */
function allDeviceDays(db: DB, q: DayRange): DayDevices[] {
  const rows = db
    .prepare("SELECT date, devices, sketch FROM telemetry_daily_dims WHERE app_id = ? AND dim = '' AND value = '' AND date BETWEEN ? AND ?")
    .all(q.appId, q.from, q.to) as { date: string; devices: number; sketch: Buffer | null }[];
  const app = dimApp(db, q.appId);
  const open = openDevices(db, app, DIM.all);
  return rows.map((r) => ({ date: r.date, devices: r.devices, sketch: () => daySketch(r.sketch, DIM.all, () => open(r.date, '')) }));
}

function dimApp(db: DB, appId: string): number | undefined {
  return db.prepare('SELECT id FROM dim_apps WHERE app_id = ?').pluck().get(appId) as number | undefined;
}

/** A reader of an open day's device rows of one dimension value (16 hex digits per device). */
function openDevices(db: DB, app: number | undefined, dim: Dim): (date: string, value: string) => string | null {
  const st = db.prepare(`SELECT ${devicesHex()} FROM device_days WHERE app = ? AND day = ? AND dim = ? AND value = ?`).pluck();
  return (date, value) => (app === undefined ? null : (st.get(app, dayNumberOf(date), dim, value) as string | null));
}

/**
 * A day's devices of one value: its stored sketch once the day is closed (rows left over while it closes
 * are in it already), else its device rows.
 */
function daySketch(stored: Buffer | null, dim: Dim, rows: () => string | null): DeviceSketch {
  if (stored) return DeviceSketch.fromBuffer(stored);
  return addHex(new DeviceSketch(sketchPrecision(dim)), rows());
}

interface ValueCount {
  value: string;
  count: number;
}

/** The top `limit` of values sorted most frequent first (ties by value), and the rest's total. */
function top(values: ValueCount[], limit: number): { top: ValueCount[]; other: number } {
  const other = values.slice(limit).reduce((sum, v) => sum + v.count, 0);
  return { top: values.slice(0, limit), other };
}

function eventTypeBreakdown(db: DB, q: DayRange & { eventType?: string }, limit: number): Breakdown {
  const values = db
    .prepare(
      `SELECT event_type AS value, sum(count) AS count FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ?
         AND (? IS NULL OR event_type = ?) GROUP BY event_type ORDER BY count DESC, value`,
    )
    .all(q.appId, q.from, q.to, q.eventType ?? null, q.eventType ?? null) as ValueCount[];
  const { top: kept, other } = top(values, limit);
  const days = db.prepare('SELECT date, sketch FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ? AND event_type = ?');
  return unionPerValue(db, q, DIM.event_type, kept, other, (value) => days.all(q.appId, q.from, q.to, value) as DayRow[]);
}

function dimBreakdown(db: DB, q: DayRange, dim: Dim, limit: number): Breakdown {
  const name = DIM_NAME[dim as 0 | 2 | 3];
  const values = db
    .prepare('SELECT value, sum(count) AS count FROM telemetry_daily_dims WHERE app_id = ? AND dim = ? AND date BETWEEN ? AND ? GROUP BY value ORDER BY count DESC, value')
    .all(q.appId, name, q.from, q.to) as ValueCount[];
  const { top: kept, other } = top(values, limit);
  const days = db.prepare('SELECT date, sketch FROM telemetry_daily_dims WHERE app_id = ? AND dim = ? AND value = ? AND date BETWEEN ? AND ?');
  return unionPerValue(db, q, dim, kept, other, (value) => days.all(q.appId, name, value, q.from, q.to) as DayRow[]);
}

interface DayRow {
  date: string;
  sketch: Buffer | null;
}

/** Items with their distinct devices over the range: per value, the union of its days. '' (not sent) is null. */
function unionPerValue(db: DB, q: DayRange, dim: Dim, kept: ValueCount[], other: number, daysOf: (value: string) => DayRow[]): Breakdown {
  const open = openDevices(db, dimApp(db, q.appId), dim);
  const items = kept.map((v) => {
    const union = new DeviceSketch(sketchPrecision(dim));
    for (const d of daysOf(v.value)) union.merge(daySketch(d.sketch, dim, () => open(d.date, v.value)));
    return { value: v.value === '' ? null : v.value, count: v.count, devices: union.count() };
  });
  return { items, other_count: other };
}

/**
 * A breakdown from the raw rows within retention: by a top-level key of `data` (its value as text: a JSON
 * scalar as written, an object or array as its JSON text, cut to BREAKDOWN_VALUE_MAX_CHARS; missing or JSON
 * null: null), or by a version column for one event type. Distinct devices per value are exact. The scan
 * is bounded by the range clamped to the raw retention (bench/rollup.mjs measures one over 90 days).
 */
function rawBreakdown(db: DB, q: DayRange & { eventType?: string }, by: { data: string } | { column: 'mosis_version' | 'app_version' }, limit: number): Breakdown {
  const keptFrom = db.prepare("SELECT kept_from FROM retention_watermark WHERE kind = 'events'").pluck().get() as string | undefined;
  const from = keptFrom && keptFrom > q.from ? keptFrom : q.from;
  const app = dimApp(db, q.appId);
  if (app === undefined || from > q.to) return { items: [], other_count: 0 };
  let type: number | undefined;
  if (q.eventType !== undefined) {
    type = db.prepare('SELECT id FROM dim_event_types WHERE name = ?').pluck().get(q.eventType) as number | undefined;
    if (type === undefined) return { items: [], other_count: 0 };
  }
  const parts = listPartitions(db, 'events').filter((p) => p.month >= from.slice(0, 7) && p.month <= q.to.slice(0, 7));
  if (!parts.length) return { items: [], other_count: 0 };
  const cut = BREAKDOWN_VALUE_MAX_CHARS;
  const valueOf = (table: string) => {
    if ('data' in by) {
      return `CASE json_type(event_data, @path) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN NULL
        WHEN 'integer' THEN CAST(json_extract(event_data, @path) AS TEXT) WHEN 'real' THEN CAST(json_extract(event_data, @path) AS TEXT)
        ELSE substr(json_extract(event_data, @path), 1, ${cut}) END`;
    }
    if (by.column === 'app_version' && !hasAppVersion(db, table)) return 'NULL';
    return `nullif(${by.column}, '')`;
  };
  // Table names cannot be bound; they come from the partition registry. The day condition is written as the
  // events index has it (app_id, timestamp / 86400000, ...).
  const rows = parts
    .map((p) => `SELECT ${valueOf(p.name)} AS v, device_id FROM ${p.name} WHERE app_id = @app AND timestamp / 86400000 BETWEEN @lo AND @hi${type === undefined ? '' : ' AND event_type = @type'}`)
    .join(' UNION ALL ');
  const params = { app, lo: dayNumberOf(from), hi: dayNumberOf(q.to), path: 'data' in by ? `$."${by.data}"` : undefined, type, limit };
  const named = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
  const out = db
    .prepare(
      `SELECT v AS value, count, devices, sum(count) OVER () AS total FROM (
         SELECT v, count(*) AS count, count(DISTINCT device_id) AS devices FROM (${rows}) GROUP BY v)
       ORDER BY count DESC, value LIMIT @limit`,
    )
    .all(named) as { value: string | null; count: number; devices: number; total: number }[];
  const shown = out.reduce((sum, r) => sum + r.count, 0);
  return { items: out.map(({ value, count, devices }) => ({ value, count, devices })), other_count: (out[0]?.total ?? 0) - shown };
}

/**
 * Crash groups of one app over the range, most frequent first, at most `limit`. `devices` is exact over the
 * range (distinct devices of crash_daily_devices, not a sum of daily counts); type and message are those
 * of the group's first day in the range; `app_versions` the first `maxVersions` in sorted order.
 */
function crashGroups(db: DB, q: DayRange, limit: number, maxVersions: number): CrashGroup[] {
  const groups = db
    .prepare(
      `SELECT fingerprint, sum(count) AS count, min(first_seen) AS first_seen, max(last_seen) AS last_seen
       FROM crash_daily WHERE app_id = ? AND date BETWEEN ? AND ?
       GROUP BY fingerprint ORDER BY count DESC, fingerprint LIMIT ?`,
    )
    .all(q.appId, q.from, q.to, limit) as Omit<CrashGroup, 'crash_type' | 'message' | 'devices' | 'app_versions'>[];
  if (!groups.length) return [];
  const wanted = JSON.stringify(groups.map((g) => g.fingerprint));
  const samples = db
    .prepare(
      `SELECT fingerprint, crash_type, message FROM (
         SELECT fingerprint, crash_type, message, row_number() OVER (PARTITION BY fingerprint ORDER BY date) AS rn
         FROM crash_daily WHERE app_id = ? AND date BETWEEN ? AND ? AND fingerprint IN (SELECT value FROM json_each(?)))
       WHERE rn = 1`,
    )
    .all(q.appId, q.from, q.to, wanted) as { fingerprint: string; crash_type: string; message: string | null }[];
  const versions = db
    .prepare(
      `SELECT fingerprint, version FROM (
         SELECT fingerprint, version, row_number() OVER (PARTITION BY fingerprint ORDER BY version) AS rn FROM (
           SELECT DISTINCT d.fingerprint, v.value AS version FROM crash_daily d, json_each(d.app_versions) v
           WHERE d.app_id = ? AND d.date BETWEEN ? AND ? AND d.fingerprint IN (SELECT value FROM json_each(?))))
       WHERE rn <= ?`,
    )
    .all(q.appId, q.from, q.to, wanted, maxVersions) as { fingerprint: string; version: string }[];
  const devices = db
    .prepare(
      `SELECT fingerprint, count(DISTINCT device_id) AS n FROM crash_daily_devices
       WHERE app_id = ? AND date BETWEEN ? AND ? AND fingerprint IN (SELECT value FROM json_each(?)) GROUP BY fingerprint`,
    )
    .all(q.appId, q.from, q.to, wanted) as { fingerprint: string; n: number }[];
  const sampleOf = new Map(samples.map((s) => [s.fingerprint, s]));
  const devicesOf = new Map(devices.map((d) => [d.fingerprint, d.n]));
  const versionsOf = new Map<string, string[]>();
  for (const v of versions) versionsOf.set(v.fingerprint, [...(versionsOf.get(v.fingerprint) ?? []), v.version]);
  return groups.map((g) => ({
    ...g,
    crash_type: sampleOf.get(g.fingerprint)?.crash_type ?? '',
    message: sampleOf.get(g.fingerprint)?.message ?? null,
    devices: devicesOf.get(g.fingerprint) ?? 0,
    app_versions: (versionsOf.get(g.fingerprint) ?? []).sort(),
  }));
}

