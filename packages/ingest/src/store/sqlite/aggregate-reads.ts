import type { DB } from '@mosis/shared';
import { DAY_MS, dayStartMs } from '../../jobs/days.js';
import { CRASH_GROUP_APP_VERSIONS } from '../../limits.js';
import { listPartitions, monthOf } from '../partitions.js';
import type { ActiveDevices, Breakdown, BreakdownBy, CrashGroup, DailyCount, DayRange, DeviceInterval, Summary, TelemetryReads } from '../reads.js';
import { dimApp, inSnapshot, statement } from './snapshot.js';

/**
 * PLACEHOLDER, written by h10-raw so the core API compiles and its routes are tested before h10-rollup's
 * incremental aggregates land: the lead replaces this whole file by h10-rollup's `aggregate-reads.ts` at
 * the merge (same class, same constructor). dailyCounts, eventTypeCount and crashGroups are the queries the
 * core API ran before (moved from core-api/src/store/analytics.ts); activeDevices, breakdown and summary
 * are the simplest correct answers: exact COUNT(DISTINCT device_id) over the raw rows still stored (the
 * raw retention), plus telemetry_daily and the crash aggregates for counts. They scan raw rows, so they
 * are bounded by the range's raw rows, not by the aggregates.
 */
export class SqliteAggregateReads
  implements Pick<TelemetryReads, 'dailyCounts' | 'eventTypeCount' | 'activeDevices' | 'breakdown' | 'summary' | 'crashGroups'>
{
  constructor(private readonly db: () => DB | undefined) {}

  private read<T>(read: (db: DB) => T, empty: () => T): T {
    const db = this.db();
    return db ? inSnapshot(db, () => read(db), empty) : empty();
  }

  async dailyCounts(q: DayRange & { eventType?: string }): Promise<DailyCount[]> {
    return this.read(
      (db) =>
        (q.eventType !== undefined
          ? statement(db, 'SELECT date, event_type, count, unique_devices FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ? AND event_type = ? ORDER BY date').all(q.appId, q.from, q.to, q.eventType)
          : statement(db, 'SELECT date, event_type, count, unique_devices FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ? ORDER BY date, event_type').all(q.appId, q.from, q.to)) as DailyCount[],
      () => [],
    );
  }

  async eventTypeCount(q: DayRange): Promise<number> {
    return this.read(
      (db) => statement(db, 'SELECT count(DISTINCT event_type) FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ?').pluck().get(q.appId, q.from, q.to) as number,
      () => 0,
    );
  }

  async activeDevices(q: DayRange & { interval: DeviceInterval }): Promise<ActiveDevices> {
    const periods = periodsOf(q.from, q.to, q.interval);
    const zero = () => ({ items: periods.map((period_start) => ({ period_start, devices: 0 })), total_devices: 0 });
    return this.read((db) => {
      const raw = rawRows(db, q, 'timestamp / 86400000 AS day, device_id');
      if (!raw) return zero();
      const period = PERIOD_SQL[q.interval];
      const counted = new Map(
        (statement(db, `WITH ev AS (${raw.sql}) SELECT ${period} AS period, count(DISTINCT device_id) AS n FROM ev GROUP BY 1`).all(raw.params) as {
          period: string;
          n: number;
        }[]).map((r) => [r.period, r.n]),
      );
      const total = statement(db, `WITH ev AS (${raw.sql}) SELECT count(DISTINCT device_id) FROM ev`).pluck().get(raw.params) as number;
      return { items: periods.map((period_start) => ({ period_start, devices: counted.get(period_start) ?? 0 })), total_devices: total };
    }, zero);
  }

  async breakdown(q: DayRange & { by: BreakdownBy; eventType?: string; limit: number }): Promise<Breakdown> {
    const empty = () => ({ items: [], other_count: 0 });
    return this.read((db) => {
      let type: number | undefined;
      if (q.eventType !== undefined) {
        type = statement(db, 'SELECT id FROM dim_event_types WHERE name = ?').pluck().get(q.eventType) as number | undefined;
        if (type === undefined) return empty();
      }
      const value =
        q.by.kind === 'event_type'
          ? '(SELECT name FROM dim_event_types WHERE id = event_type)'
          : q.by.kind === 'data'
            ? `CASE json_type(event_data, @path) WHEN 'text' THEN substr(event_data ->> @path, 1, 256) WHEN 'null' THEN NULL ELSE substr(event_data -> @path, 1, 256) END`
            : q.by.kind;
      const raw = rawRows(db, q, `${value} AS value, device_id`, type, q.by.kind === 'data' ? `$."${q.by.key}"` : undefined);
      if (!raw) return empty();
      const rows = statement(
        db,
        `WITH ev AS (${raw.sql}) SELECT value, count(*) AS count, count(DISTINCT device_id) AS devices FROM ev GROUP BY value ORDER BY count DESC, value`,
      ).all(raw.params) as { value: string | null; count: number; devices: number }[];
      const items = rows.slice(0, q.limit).map((r) => ({ value: r.value === null ? null : String(r.value), count: r.count, devices: r.devices }));
      return { items, other_count: rows.slice(q.limit).reduce((s, r) => s + r.count, 0) };
    }, empty);
  }

  async summary(q: DayRange & { topEventTypes: number }): Promise<Summary> {
    const empty = (): Summary => ({ events: 0, devices: 0, crashes: 0, crashed_devices: 0, crash_free_devices_pct: null, top_event_types: [] });
    return this.read((db) => {
      const range = [q.appId, q.from, q.to];
      const events = statement(db, 'SELECT coalesce(sum(count), 0) FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ?').pluck().get(...range) as number;
      const top = statement(
        db,
        'SELECT event_type, sum(count) AS count FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ? GROUP BY event_type ORDER BY count DESC, event_type LIMIT ?',
      ).all(...range, q.topEventTypes) as { event_type: string; count: number }[];
      const crashes = statement(db, 'SELECT coalesce(sum(count), 0) FROM crash_daily WHERE app_id = ? AND date BETWEEN ? AND ?').pluck().get(...range) as number;
      const crashedSql = 'SELECT device_id FROM crash_daily_devices WHERE app_id = @appId AND date BETWEEN @from AND @to';
      const named = { appId: q.appId, from: q.from, to: q.to };
      const crashed = statement(db, `SELECT count(DISTINCT device_id) FROM (${crashedSql})`).pluck().get(named) as number;
      const raw = rawRows(db, q, 'device_id');
      // UNION (not ALL): a device that sent events and crashed counts once.
      const devices = raw ? (statement(db, `SELECT count(*) FROM (${raw.sql} UNION ${crashedSql})`).pluck().get({ ...raw.params, ...named }) as number) : crashed;
      return {
        events,
        devices,
        crashes,
        crashed_devices: crashed,
        crash_free_devices_pct: devices === 0 ? null : (100 * (devices - crashed)) / devices,
        top_event_types: top,
      };
    }, empty);
  }

  async crashGroups(q: DayRange & { limit: number }): Promise<CrashGroup[]> {
    return this.read((db) => {
      const { appId, from, to } = q;
      const groups = statement(
        db,
        `SELECT fingerprint, sum(count) AS count, min(first_seen) AS first_seen, max(last_seen) AS last_seen
         FROM crash_daily WHERE app_id = ? AND date BETWEEN ? AND ?
         GROUP BY fingerprint ORDER BY count DESC, fingerprint LIMIT ?`,
      ).all(appId, from, to, q.limit) as Omit<CrashGroup, 'crash_type' | 'message' | 'devices' | 'app_versions'>[];
      if (!groups.length) return [];
      const wanted = JSON.stringify(groups.map((g) => g.fingerprint));
      const samples = statement(
        db,
        `SELECT fingerprint, crash_type, message FROM (
           SELECT fingerprint, crash_type, message, row_number() OVER (PARTITION BY fingerprint ORDER BY date) AS rn
           FROM crash_daily WHERE app_id = ? AND date BETWEEN ? AND ? AND fingerprint IN (SELECT value FROM json_each(?)))
         WHERE rn = 1`,
      ).all(appId, from, to, wanted) as { fingerprint: string; crash_type: string; message: string | null }[];
      const versions = statement(
        db,
        `SELECT fingerprint, version FROM (
           SELECT fingerprint, version, row_number() OVER (PARTITION BY fingerprint ORDER BY version) AS rn FROM (
             SELECT DISTINCT d.fingerprint, v.value AS version FROM crash_daily d, json_each(d.app_versions) v
             WHERE d.app_id = ? AND d.date BETWEEN ? AND ? AND d.fingerprint IN (SELECT value FROM json_each(?))))
         WHERE rn <= ?`,
      ).all(appId, from, to, wanted, CRASH_GROUP_APP_VERSIONS) as { fingerprint: string; version: string }[];
      const devices = statement(
        db,
        `SELECT fingerprint, count(DISTINCT device_id) AS n FROM crash_daily_devices
         WHERE app_id = ? AND date BETWEEN ? AND ? AND fingerprint IN (SELECT value FROM json_each(?)) GROUP BY fingerprint`,
      ).all(appId, from, to, wanted) as { fingerprint: string; n: number }[];
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
    }, () => []);
  }
}

/** The start day of each period (`YYYY-MM-DD`) of a day number `day`, in SQL. */
const PERIOD_SQL: Record<DeviceInterval, string> = {
  day: "strftime('%Y-%m-%d', day * 86400, 'unixepoch')",
  // Day 0 (1970-01-01) was a Thursday: (day + 3) % 7 days after a Monday.
  week: "strftime('%Y-%m-%d', (day - (day + 3) % 7) * 86400, 'unixepoch')",
  month: "strftime('%Y-%m-01', day * 86400, 'unixepoch')",
};

/** The start day of every period overlapping from..to, oldest first. */
function periodsOf(from: string, to: string, interval: DeviceInterval): string[] {
  const out: string[] = [];
  const last = Math.floor(dayStartMs(to) / DAY_MS);
  for (let day = Math.floor(dayStartMs(from) / DAY_MS); day <= last; day++) {
    const start = interval === 'day' ? day : interval === 'week' ? day - ((day + 3) % 7) : Math.floor(Date.parse(`${monthOf(day * DAY_MS)}-01T00:00:00.000Z`) / DAY_MS);
    const s = new Date(start * DAY_MS).toISOString().slice(0, 10);
    if (out[out.length - 1] !== s) out.push(s);
  }
  return out;
}

/**
 * `columns` of an app's raw event rows in from..to, across the partitions of those months, as one SQL
 * UNION ALL with its named parameters (`@path` in `columns`); undefined when no such row can exist.
 */
function rawRows(db: DB, q: DayRange, columns: string, type?: number, path?: string): { sql: string; params: Record<string, unknown> } | undefined {
  const app = dimApp(db, q.appId);
  if (app === undefined) return undefined;
  const first = Math.floor(dayStartMs(q.from) / DAY_MS);
  const last = Math.floor(dayStartMs(q.to) / DAY_MS);
  const months = listPartitions(db, 'events').filter((p) => p.month >= q.from.slice(0, 7) && p.month <= q.to.slice(0, 7));
  if (!months.length) return undefined;
  const where = `app_id = @app AND timestamp / 86400000 BETWEEN @first AND @last${type !== undefined ? ' AND event_type = @type' : ''}`;
  const sql = months.map((p) => `SELECT ${columns} FROM ${p.name} WHERE ${where}`).join(' UNION ALL ');
  return { sql, params: { app, first, last, ...(type !== undefined && { type }), ...(path !== undefined && { path }) } };
}
