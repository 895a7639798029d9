import { DAY_MS } from '../days.js';
import { OPEN_DAYS } from '../limits.js';
import { ACTIVE_DEVICES_PRECISION, BREAKDOWN_DEVICES_PRECISION, DeviceSketch } from '../sketch/device-sketch.js';

/**
 * What both backends' aggregates share: the dimensions devices are counted by, their sketch precisions,
 * which days are still open, and device sets passed as hex text. The tables themselves are each backend's
 * own (store/sqlite/aggregates.ts, migrations/telemetry-pg).
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

/** One aggregate row as a rollup step adds to it: the events counted and the devices new to it that day. */
export interface DayGroup {
  app: string;
  date: string;
  dim: Dim;
  value: string;
  count: number;
  devices: number;
}
