import type { DB } from '@mosis/shared';

/**
 * Reads of telemetry.db for the analytics routes (read-only; ingest owns the file). Aggregates come from
 * `telemetry_daily` and `crash_daily` / `crash_daily_devices` (kept forever), raw crashes from the month
 * partitions `crash_reports_YYYY_MM` (kept for the raw retention). A table that does not exist yet (ingest
 * not migrated) or was just dropped (retention) reads as empty.
 */

export interface DailyRow {
  date: string;
  event_type: string;
  count: number;
  unique_devices: number;
}

/** A daily series, or how it would be too big: at least `eventTypes` types where at most `maxTypes` fit. */
export type DailySeries = { kind: 'ok'; rows: DailyRow[] } | { kind: 'too_many_types'; eventTypes: number };

/**
 * Daily event counts of one app over `from`..`to` (both included), optionally of one event type. Without
 * one, the range's distinct types are counted first, but only up to `maxTypes + 1` (the scan stops there,
 * however many types the app has): more than `maxTypes` answers `too_many_types` and reads no rows. Both
 * reads see one snapshot, so the rows hold no type the count did not see.
 */
export function dailySeries(db: DB, appId: string, from: string, to: string, eventType: string | undefined, maxTypes: number): DailySeries {
  return orEmpty(() => [
    db.transaction((): DailySeries => {
      if (eventType !== undefined) {
        const rows = db
          .prepare('SELECT date, event_type, count, unique_devices FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ? AND event_type = ?')
          .all(appId, from, to, eventType) as DailyRow[];
        return { kind: 'ok', rows };
      }
      const types = db
        .prepare('SELECT count(*) FROM (SELECT DISTINCT event_type FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ? LIMIT ?)')
        .pluck()
        .get(appId, from, to, maxTypes + 1) as number;
      if (types > maxTypes) return { kind: 'too_many_types', eventTypes: types };
      const rows = db
        .prepare('SELECT date, event_type, count, unique_devices FROM telemetry_daily WHERE app_id = ? AND date BETWEEN ? AND ?')
        .all(appId, from, to) as DailyRow[];
      return { kind: 'ok', rows };
    })(),
  ])[0] ?? { kind: 'ok', rows: [] };
}

export interface CrashGroupRow {
  fingerprint: string;
  crash_type: string;
  message: string | null;
  count: number;
  devices: number;
  first_seen: number;
  last_seen: number;
  app_versions: string[];
}

/**
 * Crash groups of one app over `from`..`to`, most frequent first, at most `limit`. `devices` is exact over
 * the range (distinct devices from crash_daily_devices, not a sum of daily counts); type and message are
 * those of the group's first day in the range; `app_versions` the first `maxVersions` in sorted order.
 */
export function crashGroups(db: DB, appId: string, from: string, to: string, limit: number, maxVersions: number): CrashGroupRow[] {
  return orEmpty(() => {
    const groups = db
      .prepare(
        `SELECT fingerprint, sum(count) AS count, min(first_seen) AS first_seen, max(last_seen) AS last_seen
         FROM crash_daily WHERE app_id = ? AND date BETWEEN ? AND ?
         GROUP BY fingerprint ORDER BY count DESC, fingerprint LIMIT ?`,
      )
      .all(appId, from, to, limit) as Omit<CrashGroupRow, 'crash_type' | 'message' | 'devices' | 'app_versions'>[];
    if (!groups.length) return [];
    const wanted = JSON.stringify(groups.map((g) => g.fingerprint));
    const samples = db
      .prepare(
        `SELECT fingerprint, crash_type, message FROM (
           SELECT fingerprint, crash_type, message, row_number() OVER (PARTITION BY fingerprint ORDER BY date) AS rn
           FROM crash_daily WHERE app_id = ? AND date BETWEEN ? AND ? AND fingerprint IN (SELECT value FROM json_each(?)))
         WHERE rn = 1`,
      )
      .all(appId, from, to, wanted) as { fingerprint: string; crash_type: string; message: string | null }[];
    const versions = db
      .prepare(
        `SELECT fingerprint, version FROM (
           SELECT fingerprint, version, row_number() OVER (PARTITION BY fingerprint ORDER BY version) AS rn FROM (
             SELECT DISTINCT d.fingerprint, v.value AS version FROM crash_daily d, json_each(d.app_versions) v
             WHERE d.app_id = ? AND d.date BETWEEN ? AND ? AND d.fingerprint IN (SELECT value FROM json_each(?))))
         WHERE rn <= ?`,
      )
      .all(appId, from, to, wanted, maxVersions) as { fingerprint: string; version: string }[];
    const devices = db
      .prepare(
        `SELECT fingerprint, count(DISTINCT device_id) AS n FROM crash_daily_devices
         WHERE app_id = ? AND date BETWEEN ? AND ? AND fingerprint IN (SELECT value FROM json_each(?)) GROUP BY fingerprint`,
      )
      .all(appId, from, to, wanted) as { fingerprint: string; n: number }[];
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
  });
}

export interface RawCrashRow {
  month: string;
  id: number;
  crash_id: Buffer | null;
  device_id: string;
  timestamp: number;
  created_at: number;
  fingerprint: string;
  crash_type: string;
  app_version: string;
  message: string | null;
  stack_trace: string | null;
  context: string | null;
  mosis_version: string | null;
}

/** Where a page of raw crashes ended: the last row's timestamp and its id within its month partition. */
export type CrashPosition = [timestamp: number, id: number];

/**
 * Raw crash reports of one app, newest first, optionally of one fingerprint; keyset-paginated across the
 * month partitions (a timestamp belongs to exactly one partition, so (timestamp, id) orders them all).
 */
export function rawCrashes(db: DB, appId: string, fingerprint: string | undefined, limit: number, after?: CrashPosition): RawCrashRow[] {
  return orEmpty(() => {
    const dim = db.prepare('SELECT id FROM dim_apps WHERE app_id = ?').pluck().get(appId) as number | undefined;
    if (dim === undefined) return [];
    const months = db.prepare("SELECT month FROM telemetry_partitions WHERE kind = 'crashes' ORDER BY month DESC").pluck().all() as string[];
    const out: RawCrashRow[] = [];
    const [ts, id] = after ?? [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    const afterMonth = new Date(Math.min(ts, 8.64e15)).toISOString().slice(0, 7);
    for (const month of months) {
      if (out.length >= limit) break;
      if (after && month > afterMonth) continue;
      // Identifiers cannot be bound; month comes from the partition registry and is checked here.
      if (!/^\d{4}-\d{2}$/.test(month)) continue;
      const table = `crash_reports_${month.replace('-', '_')}`;
      const columns = `'${month}' AS month, id, crash_id, printf('%016x', device_id) AS device_id, timestamp, created_at,
        fingerprint, crash_type, app_version, message, stack_trace, context, mosis_version`;
      const page = '(timestamp < ? OR (timestamp = ? AND id < ?)) ORDER BY timestamp DESC, id DESC LIMIT ?';
      // Two statements rather than "? IS NULL OR": each then uses its own index.
      const rows = orEmpty(() =>
        fingerprint === undefined
          ? db.prepare(`SELECT ${columns} FROM ${table} WHERE app_id = ? AND ${page}`).all(dim, ts, ts, id, limit - out.length)
          : db.prepare(`SELECT ${columns} FROM ${table} WHERE app_id = ? AND fingerprint = ? AND ${page}`).all(dim, fingerprint, ts, ts, id, limit - out.length),
      ) as RawCrashRow[];
      out.push(...rows);
    }
    return out;
  });
}

/** Runs a read; "no such table" (telemetry.db not migrated yet, a partition just dropped) reads as empty. */
function orEmpty<T>(read: () => T[]): T[] {
  try {
    return read();
  } catch (err) {
    if (/no such table/i.test((err as Error).message)) return [];
    throw err;
  }
}
