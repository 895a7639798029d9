import type { DB } from '@mosis/shared';

/**
 * The physical layout of the daily aggregates in telemetry.db, shared by the rollup that writes them
 * (store/sqlite/rollup*.ts) and the reads (aggregate-reads.ts); nothing else knows it.
 *
 *  - `telemetry_daily` (app_id, date, event_type): count, unique_devices, sketch;
 *  - `telemetry_daily_dims` (app_id, date, dim, value): count, devices, sketch, for dim '' (value '': all
 *    events of the app that day), 'mosis_version' and 'app_version' (value '': not sent);
 *  - `device_days` (app, day, dim, value, device): the exact devices of each day not closed yet; a day's
 *    aggregate rows have `sketch` NULL while it is open and its DeviceSketch once closed;
 *  - `crash_daily` (app_id, date, fingerprint) and `crash_daily_devices` (exact, kept forever).
 */

/**
 * SQL aggregating a column of device hashes into one text value (16 hex digits each), so a day's devices
 * cross the thread boundary and the driver as one string, not one BigInt object per device.
 */
export function devicesHex(column = 'device'): string {
  return `group_concat(printf('%016x', ${column}), '')`;
}

/**
 * Whether an event partition has the `app_version` column: partitions made before migration 0005 lack it
 * until that migration adds it; their events then read as not carrying one.
 */
export function hasAppVersion(db: DB, table: string): boolean {
  return db.prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = 'app_version'").get(table) !== undefined;
}

/**
 * A partition created without AUTOINCREMENT (before migration 0006) may hand out its largest id again once
 * that row is deleted: retention never deletes that one row (it goes when the month is dropped whole).
 */
export function reusesIds(db: DB, table: string): boolean {
  const sql = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(table) as string | undefined;
  return sql !== undefined && !/\bAUTOINCREMENT\b/i.test(sql);
}

/** The rollup position of a partition: the last row id folded into the aggregates (0: none yet). */
export function rollupPosition(db: DB, table: string): number {
  return (db.prepare('SELECT last_id FROM rollup_positions WHERE name = ?').pluck().get(table) as number | undefined) ?? 0;
}
