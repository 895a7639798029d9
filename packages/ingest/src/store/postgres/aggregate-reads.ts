import { dayNumberOf, periodStart, periodsOf } from '../../days.js';
import { BREAKDOWN_DATA_KEY, BREAKDOWN_VALUE_MAX_CHARS, MAX_BREAKDOWN_ITEMS, MAX_CRASH_GROUP_APP_VERSIONS } from '../../limits.js';
import { ACTIVE_DEVICES_PRECISION, DeviceSketch } from '../../sketch/device-sketch.js';
import type { ActiveDevices, Breakdown, BreakdownBy, CrashGroup, DailyCount, DayRange, DeviceInterval, Summary } from '../reads.js';
import { addHex, DIM, DIM_NAME, sketchPrecision, type Dim } from '../aggregates.js';
import type { AggregateReads } from '../reads.js';
import type { PgClient, PgPool } from './pool.js';
import { inReadSnapshot, num, pgDimApp } from './read-tx.js';

/**
 * The aggregate reads of TelemetryReads on PostgreSQL. The tables are telemetry.db's (migrations/
 * telemetry-pg 0001 mirrors them: same columns, same dates, the same DeviceSketch bytes), so the numbers
 * are SQLite's: each method is SqliteAggregateReads' SQL in PostgreSQL's dialect, in one read snapshot.
 * Text is ordered with COLLATE "C" (byte order, as SQLite's BINARY), so ties break the same way whatever
 * the server's locale. Device sets cross the driver as one hex string (16 digits per device), not one
 * bigint per row.
 */

/** string_agg of a column of device hashes as 16 hex digits each (two's complement, as SQLite's printf('%016x')). */
const DEVICES_HEX = (column: string) => `string_agg(lpad(to_hex(${column}), 16, '0'), '')`;

export class PgAggregateReads implements AggregateReads {
  constructor(private readonly pool: PgPool) {}

  async dailyCounts(q: DayRange & { eventType?: string }): Promise<DailyCount[]> {
    return this.read([], async (c) => {
      const res =
        q.eventType === undefined
          ? await c.query(
              'SELECT date, event_type, count, unique_devices FROM telemetry_daily WHERE app_id = $1 AND date BETWEEN $2 AND $3 ORDER BY date COLLATE "C", event_type COLLATE "C"',
              [q.appId, q.from, q.to],
            )
          : await c.query(
              'SELECT date, event_type, count, unique_devices FROM telemetry_daily WHERE app_id = $1 AND date BETWEEN $2 AND $3 AND event_type = $4 ORDER BY date COLLATE "C"',
              [q.appId, q.from, q.to, q.eventType],
            );
      return res.rows.map((r) => ({ date: r.date, event_type: r.event_type, count: num(r.count), unique_devices: num(r.unique_devices) }));
    });
  }

  async eventTypeCount(q: DayRange & { cap?: number }): Promise<number> {
    // With a cap, the scan stops at cap + 1 types however many the app has (LIMIT NULL: no limit).
    return this.read(0, async (c) => {
      const res = await c.query(
        'SELECT count(*) AS n FROM (SELECT DISTINCT event_type FROM telemetry_daily WHERE app_id = $1 AND date BETWEEN $2 AND $3 LIMIT $4) t',
        [q.appId, q.from, q.to, q.cap === undefined ? null : q.cap + 1],
      );
      return num(res.rows[0]?.n);
    });
  }

  async activeDevices(q: DayRange & { interval: DeviceInterval }): Promise<ActiveDevices> {
    const periods = periodsOf(q.from, q.to, q.interval);
    const empty: ActiveDevices = { items: periods.map((p) => ({ period_start: p, devices: 0 })), total_devices: 0 };
    return this.read(empty, async (c) => {
      const total = new DeviceSketch(ACTIVE_DEVICES_PRECISION);
      const unions = new Map(periods.map((p) => [p, new DeviceSketch(ACTIVE_DEVICES_PRECISION)]));
      const dayCounts = new Map<string, number>();
      for (const d of await allDeviceDays(c, q)) {
        total.merge(d.sketch);
        // A day's own count is stored (exact); a week or a month is the union of its days.
        if (q.interval === 'day') dayCounts.set(d.date, d.devices);
        else unions.get(periodStart(d.date, q.interval))!.merge(d.sketch);
      }
      const devicesOf = (p: string) => (q.interval === 'day' ? (dayCounts.get(p) ?? 0) : unions.get(p)!.count());
      return { items: periods.map((p) => ({ period_start: p, devices: devicesOf(p) })), total_devices: total.count() };
    });
  }

  async breakdown(q: DayRange & { by: BreakdownBy; eventType?: string; limit: number }): Promise<Breakdown> {
    const limit = Math.max(1, Math.min(MAX_BREAKDOWN_ITEMS, Math.floor(q.limit)));
    if (q.by.kind === 'data' && !BREAKDOWN_DATA_KEY.test(q.by.key)) throw new RangeError(`breakdown: a data key must match ${BREAKDOWN_DATA_KEY}`);
    return this.read({ items: [], other_count: 0 }, async (c) => {
      const by = q.by;
      if (by.kind === 'data') return rawBreakdown(c, q, { data: by.key }, limit);
      if (by.kind === 'event_type') return eventTypeBreakdown(c, q, limit);
      // The version dimensions are kept for all events of a day, not per type: per type, from raw rows.
      if (q.eventType !== undefined) return rawBreakdown(c, q, { column: by.kind }, limit);
      return dimBreakdown(c, q, by.kind === 'mosis_version' ? DIM.mosis_version : DIM.app_version, limit);
    });
  }

  async summary(q: DayRange & { topEventTypes: number }): Promise<Summary> {
    const none: Summary = { events: 0, devices: 0, crashes: 0, crashed_devices: 0, crash_free_devices_pct: null, top_event_types: [] };
    return this.read(none, async (c) => {
      const range = [q.appId, q.from, q.to];
      const events = num((await c.query('SELECT sum(count) AS n FROM telemetry_daily WHERE app_id = $1 AND date BETWEEN $2 AND $3', range)).rows[0]?.n);
      const top = (
        await c.query(
          `SELECT event_type, sum(count) AS count FROM telemetry_daily WHERE app_id = $1 AND date BETWEEN $2 AND $3
           GROUP BY event_type ORDER BY count DESC, event_type COLLATE "C" LIMIT $4`,
          [...range, Math.max(0, q.topEventTypes)],
        )
      ).rows.map((r) => ({ event_type: r.event_type as string, count: num(r.count) }));
      const all = new DeviceSketch(ACTIVE_DEVICES_PRECISION);
      for (const d of await allDeviceDays(c, q)) all.merge(d.sketch);
      // Devices that only crashed are devices too: crashed ⊆ devices.
      const crashDevices = (
        await c.query(`SELECT ${DEVICES_HEX('device_id')} AS hex FROM (SELECT DISTINCT device_id FROM crash_daily_devices WHERE app_id = $1 AND date BETWEEN $2 AND $3) d`, range)
      ).rows[0]?.hex as string | null;
      addHex(all, crashDevices);
      const crashes = num((await c.query('SELECT sum(count) AS n FROM crash_daily WHERE app_id = $1 AND date BETWEEN $2 AND $3', range)).rows[0]?.n);
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
    return this.read([], (c) => crashGroups(c, q, q.limit, MAX_CRASH_GROUP_APP_VERSIONS));
  }

  private read<T>(empty: T, fn: (c: PgClient) => Promise<T>): Promise<T> {
    return inReadSnapshot(this.pool, fn, () => empty);
  }
}

interface DayDevices {
  date: string;
  /** The stored count of that day (exact). */
  devices: number;
  sketch: DeviceSketch;
}

/** The app-wide devices of each day in range (dim ''): its sketch once closed, else its device rows. */
async function allDeviceDays(c: PgClient, q: DayRange): Promise<DayDevices[]> {
  const app = await pgDimApp(c, q.appId);
  const rows = (
    await c.query<{ date: string; devices: bigint; sketch: Buffer | null; hex: string | null }>(
      `SELECT d.date, d.devices, d.sketch,
         CASE WHEN d.sketch IS NULL THEN (SELECT ${DEVICES_HEX('device')} FROM device_days
           WHERE app = $4 AND day = (to_date(d.date, 'YYYY-MM-DD') - date '1970-01-01') AND dim = ${DIM.all} AND value = '') END AS hex
       FROM telemetry_daily_dims d WHERE d.app_id = $1 AND d.dim = '' AND d.value = '' AND d.date BETWEEN $2 AND $3`,
      [q.appId, q.from, q.to, app ?? null],
    )
  ).rows;
  return rows.map((r) => ({ date: r.date, devices: num(r.devices), sketch: daySketch(r.sketch, DIM.all, r.hex) }));
}

/** A day's devices of one value: its stored sketch once the day is closed, else its device rows. */
function daySketch(stored: Buffer | null, dim: Dim, hex: string | null): DeviceSketch {
  if (stored) return DeviceSketch.fromBuffer(stored);
  return addHex(new DeviceSketch(sketchPrecision(dim)), hex);
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

async function eventTypeBreakdown(c: PgClient, q: DayRange & { eventType?: string }, limit: number): Promise<Breakdown> {
  const values = (
    await c.query(
      `SELECT event_type AS value, sum(count) AS count FROM telemetry_daily WHERE app_id = $1 AND date BETWEEN $2 AND $3
         AND ($4::text IS NULL OR event_type = $4) GROUP BY event_type ORDER BY count DESC, event_type COLLATE "C"`,
      [q.appId, q.from, q.to, q.eventType ?? null],
    )
  ).rows.map((r) => ({ value: r.value as string, count: num(r.count) }));
  const { top: kept, other } = top(values, limit);
  const app = await pgDimApp(c, q.appId);
  return unionPerValue(kept, other, DIM.event_type, (value) =>
    c.query<DayRow>(
      `SELECT d.sketch, CASE WHEN d.sketch IS NULL THEN (SELECT ${DEVICES_HEX('device')} FROM device_days
         WHERE app = $5 AND day = (to_date(d.date, 'YYYY-MM-DD') - date '1970-01-01') AND dim = ${DIM.event_type} AND value = $4) END AS hex
       FROM telemetry_daily d WHERE d.app_id = $1 AND d.date BETWEEN $2 AND $3 AND d.event_type = $4`,
      [q.appId, q.from, q.to, value, app ?? null],
    ),
  );
}

async function dimBreakdown(c: PgClient, q: DayRange, dim: Dim, limit: number): Promise<Breakdown> {
  const name = DIM_NAME[dim as 0 | 2 | 3];
  const values = (
    await c.query(
      `SELECT value, sum(count) AS count FROM telemetry_daily_dims WHERE app_id = $1 AND dim = $2 AND date BETWEEN $3 AND $4
       GROUP BY value ORDER BY count DESC, value COLLATE "C"`,
      [q.appId, name, q.from, q.to],
    )
  ).rows.map((r) => ({ value: r.value as string, count: num(r.count) }));
  const { top: kept, other } = top(values, limit);
  const app = await pgDimApp(c, q.appId);
  return unionPerValue(kept, other, dim, (value) =>
    c.query<DayRow>(
      `SELECT d.sketch, CASE WHEN d.sketch IS NULL THEN (SELECT ${DEVICES_HEX('device')} FROM device_days
         WHERE app = $5 AND day = (to_date(d.date, 'YYYY-MM-DD') - date '1970-01-01') AND dim = ${dim} AND value = $2) END AS hex
       FROM telemetry_daily_dims d WHERE d.app_id = $1 AND d.dim = $6 AND d.value = $2 AND d.date BETWEEN $3 AND $4`,
      [q.appId, value, q.from, q.to, app ?? null, name],
    ),
  );
}

interface DayRow {
  sketch: Buffer | null;
  hex: string | null;
}

/** Items with their distinct devices over the range: per value, the union of its days. '' (not sent) is null. */
async function unionPerValue(kept: ValueCount[], other: number, dim: Dim, daysOf: (value: string) => Promise<{ rows: DayRow[] }>): Promise<Breakdown> {
  const items = [];
  for (const v of kept) {
    const union = new DeviceSketch(sketchPrecision(dim));
    for (const d of (await daysOf(v.value)).rows) union.merge(daySketch(d.sketch, dim, d.hex));
    items.push({ value: v.value === '' ? null : v.value, count: v.count, devices: union.count() });
  }
  return { items, other_count: other };
}

/**
 * A breakdown from the raw rows within retention, as SqliteAggregateReads' rawBreakdown: by a top-level key
 * of `data` (its value as text: a JSON scalar as written, an object or array as its JSON text, cut to
 * BREAKDOWN_VALUE_MAX_CHARS; missing or JSON null: null), or by a version column for one event type. `json`
 * (not jsonb) keeps a nested value's text exactly as ingest stored it, which is what SQLite answers.
 */
async function rawBreakdown(c: PgClient, q: DayRange & { eventType?: string }, by: { data: string } | { column: 'mosis_version' | 'app_version' }, limit: number): Promise<Breakdown> {
  const keptFrom = (await c.query("SELECT kept_from FROM retention_watermark WHERE kind = 'events'")).rows[0]?.kept_from as string | undefined;
  const from = keptFrom && keptFrom > q.from ? keptFrom : q.from;
  const app = await pgDimApp(c, q.appId);
  if (app === undefined || from > q.to) return { items: [], other_count: 0 };
  let type: number | undefined;
  if (q.eventType !== undefined) {
    type = (await c.query<{ id: number }>('SELECT id FROM dim_event_types WHERE name = $1', [q.eventType])).rows[0]?.id;
    if (type === undefined) return { items: [], other_count: 0 };
  }
  const cut = BREAKDOWN_VALUE_MAX_CHARS;
  // $5: the data key (bound; the key is also checked against BREAKDOWN_DATA_KEY).
  const value =
    'data' in by
      ? `CASE json_typeof(event_data::json -> $5) WHEN 'null' THEN NULL WHEN 'string' THEN substr(event_data::json ->> $5, 1, ${cut})
           ELSE substr((event_data::json -> $5)::text, 1, ${cut}) END`
      : `nullif(${by.column}, '')`;
  const params: unknown[] = [app, dayNumberOf(from), dayNumberOf(q.to), limit];
  if ('data' in by) params.push(by.data);
  const typeFilter = type === undefined ? '' : ` AND event_type = $${params.push(type)}`;
  const rows = (
    await c.query<{ value: string | null; count: bigint; devices: bigint; total: string }>(
      `SELECT v AS value, count, devices, sum(count) OVER () AS total FROM (
         SELECT v, count(*) AS count, count(DISTINCT device_id) AS devices FROM (
           SELECT ${value} AS v, device_id FROM telemetry_events WHERE app_id = $1 AND day BETWEEN $2 AND $3${typeFilter}) r
         GROUP BY v) g
       ORDER BY count DESC, v COLLATE "C" NULLS FIRST LIMIT $4`,
      params,
    )
  ).rows;
  const shown = rows.reduce((sum, r) => sum + num(r.count), 0);
  return {
    items: rows.map((r) => ({ value: r.value, count: num(r.count), devices: num(r.devices) })),
    other_count: (rows.length ? num(rows[0]!.total) : 0) - shown,
  };
}

/**
 * Crash groups of one app over the range, most frequent first, at most `limit`, as SQLite's: `devices`
 * exact over the range, type and message of the group's first day in range, the first `maxVersions`
 * app versions in sorted order.
 */
async function crashGroups(c: PgClient, q: DayRange, limit: number, maxVersions: number): Promise<CrashGroup[]> {
  const groups = (
    await c.query(
      `SELECT fingerprint, sum(count) AS count, min(first_seen) AS first_seen, max(last_seen) AS last_seen
       FROM crash_daily WHERE app_id = $1 AND date BETWEEN $2 AND $3
       GROUP BY fingerprint ORDER BY count DESC, fingerprint COLLATE "C" LIMIT $4`,
      [q.appId, q.from, q.to, limit],
    )
  ).rows.map((g) => ({ fingerprint: g.fingerprint as string, count: num(g.count), first_seen: num(g.first_seen), last_seen: num(g.last_seen) }));
  if (!groups.length) return [];
  const wanted = groups.map((g) => g.fingerprint);
  const samples = (
    await c.query<{ fingerprint: string; crash_type: string; message: string | null }>(
      `SELECT DISTINCT ON (fingerprint) fingerprint, crash_type, message FROM crash_daily
       WHERE app_id = $1 AND date BETWEEN $2 AND $3 AND fingerprint = ANY($4) ORDER BY fingerprint, date COLLATE "C"`,
      [q.appId, q.from, q.to, wanted],
    )
  ).rows;
  const versions = (
    await c.query<{ fingerprint: string; version: string }>(
      `SELECT fingerprint, version FROM (
         SELECT fingerprint, version, row_number() OVER (PARTITION BY fingerprint ORDER BY version COLLATE "C") AS rn FROM (
           SELECT DISTINCT d.fingerprint, v.value AS version FROM crash_daily d, json_array_elements_text(d.app_versions::json) v
           WHERE d.app_id = $1 AND d.date BETWEEN $2 AND $3 AND d.fingerprint = ANY($4)) u) r
       WHERE rn <= $5`,
      [q.appId, q.from, q.to, wanted, maxVersions],
    )
  ).rows;
  const devices = (
    await c.query<{ fingerprint: string; n: bigint }>(
      `SELECT fingerprint, count(DISTINCT device_id) AS n FROM crash_daily_devices
       WHERE app_id = $1 AND date BETWEEN $2 AND $3 AND fingerprint = ANY($4) GROUP BY fingerprint`,
      [q.appId, q.from, q.to, wanted],
    )
  ).rows;
  const sampleOf = new Map(samples.map((s) => [s.fingerprint, s]));
  const devicesOf = new Map(devices.map((d) => [d.fingerprint, num(d.n)]));
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
