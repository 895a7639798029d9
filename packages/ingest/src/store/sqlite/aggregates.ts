import type { DB } from '@mosis/shared';
import { DAY_MS } from '../../jobs/days.js';
import { OPEN_DAYS } from '../../limits.js';
import { ACTIVE_DEVICES_PRECISION, BREAKDOWN_DEVICES_PRECISION, DeviceSketch } from '../../sketch/device-sketch.js';

/**
 * The physical layout of the daily aggregates in telemetry.db, shared by the rollup that writes them
 * (jobs/rollup*.ts) and the reads (aggregate-reads.ts); nothing else knows it.
 *
 *  - `telemetry_daily` (app_id, date, event_type): count, unique_devices, sketch;
 *  - `telemetry_daily_dims` (app_id, date, dim, value): count, devices, sketch, for dim '' (value '': all
 *    events of the app that day), 'mosis_version' and 'app_version' (value '': not sent);
 *  - `device_days` (app, day, dim, value, device): the exact devices of each day not closed yet; a day's
 *    aggregate rows have `sketch` NULL while it is open and its DeviceSketch once closed;
 *  - `crash_daily` (app_id, date, fingerprint) and `crash_daily_devices` (exact, kept forever).
 */

/** device_days.dim: which dimension a device row belongs to. */
export const DIM = { all: 0, event_type: 1, mosis_version: 2, app_version: 3 } as const;
export type Dim = (typeof DIM)[keyof typeof DIM];

/** telemetry_daily_dims.dim of a device_days.dim (event types live in telemetry_daily). */
export const DIM_NAME: Record<Exclude<Dim, 1>, string> = { 0: '', 2: 'mosis_version', 3: 'app_version' };

/** The sketch precision of a dimension: the app-wide set is read most and gets the finer one. */
export function sketchPrecision(dim: Dim): number {
  return dim === DIM.all ? ACTIVE_DEVICES_PRECISION : BREAKDOWN_DEVICES_PRECISION;
}

/** Day number (timestamp / 86400000) of the oldest day still open at `now`: today and yesterday (OPEN_DAYS). */
export function firstOpenDay(now: number): number {
  return Math.floor(now / DAY_MS) - (OPEN_DAYS - 1);
}

/**
 * SQL aggregating a column of device hashes into one text value (16 hex digits each), so a day's devices
 * cross the thread boundary and the driver as one string, not one BigInt object per device.
 */
export function devicesHex(column = 'device'): string {
  return `group_concat(printf('%016x', ${column}), '')`;
}

/** Device hashes of a devicesHex value. */
export function devicesOfHex(hex: string | null | undefined): bigint[] {
  if (!hex) return [];
  const buf = Buffer.from(hex, 'hex');
  const out = new Array<bigint>(buf.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = buf.readBigInt64BE(i * 8);
  return out;
}

/** Adds the devices of a devicesHex value to `sketch`. */
export function addHex(sketch: DeviceSketch, hex: string | null | undefined): DeviceSketch {
  for (const d of devicesOfHex(hex)) sketch.add(d);
  return sketch;
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
