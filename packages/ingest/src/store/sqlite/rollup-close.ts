import type { DB } from '@mosis/shared';
import { DeviceSketch } from '../../sketch/device-sketch.js';
import { devicesHex } from './aggregates.js';
import { addHex, DIM, DIM_NAME, firstOpenDay, sketchPrecision, type Dim } from '../aggregates.js';
import { dayOfNumber } from '../../days.js';
import { WRITE_SLOT_BUDGET_MS, type WriteGate } from './pipeline.js';
import type { StepWriter } from './rollup-step.js';
import type { SnapshotReader } from './snapshot-reader.js';

/**
 * Closing a day: once it is older than OPEN_DAYS, its exact device rows (device_days) become DeviceSketches
 * in its aggregate rows, and the rows are deleted. Device rows cost ~30 bytes each, once; rewriting a
 * day's sketches on every run instead would write megabytes per minute into the WAL and the replica.
 *
 * Order: every value's sketch first, then the app-wide one (dim '', value ''), whose sketch marks the day
 * closed: from then on a late event's devices merge into the sketches. Then the rows go, in chunks. A
 * read unions a day's sketches and rows, so at every point in between it counts each device once. Only
 * the rollup (under the maintenance lease, one step at a time) writes device_days, so no row can arrive
 * between the snapshot a sketch is built from and the transaction that stores it.
 */

/** Device rows deleted per transaction when a day closes (a few ms of writer time). */
export const CLOSE_DELETE_ROWS = 2_000;

export interface CloseOptions {
  db: DB;
  reader: SnapshotReader;
  gate: WriteGate;
  writer: StepWriter;
  now: number;
  signal?: AbortSignal;
  onStep?: () => void;
  /** Only days from this day number on... */
  fromDay?: number;
  /** ...and up to this one (both included). */
  toDay?: number;
}

interface DeviceGroup {
  dim: Dim;
  value: string;
  n: number;
  devices: string;
}

/** Closes every day with device rows older than OPEN_DAYS at `now` (within the bounds). Returns the (app, day)s closed. */
export async function closeDays(opts: CloseOptions): Promise<number> {
  const { db } = opts;
  const last = Math.min(firstOpenDay(opts.now) - 1, opts.toDay ?? Number.MAX_SAFE_INTEGER);
  const apps = db.prepare('SELECT id FROM dim_apps ORDER BY id').pluck().all() as number[];
  const firstDay = db.prepare('SELECT min(day) FROM device_days WHERE app = ? AND day >= ?').pluck();
  let closed = 0;
  for (const app of apps) {
    for (let from = opts.fromDay ?? Number.MIN_SAFE_INTEGER; ; ) {
      if (opts.signal?.aborted) return closed;
      const day = firstDay.get(app, from) as number | null;
      if (day === null || day > last) break;
      await closeDay(opts, app, day);
      closed++;
      from = day + 1;
    }
  }
  return closed;
}

async function closeDay(opts: CloseOptions, app: number, day: number): Promise<void> {
  const { db, gate } = opts;
  opts.onStep?.();
  const appId = opts.writer.appName(app);
  const date = dayOfNumber(day);
  const isClosed = db.prepare("SELECT sketch IS NOT NULL FROM telemetry_daily_dims WHERE app_id = ? AND date = ? AND dim = '' AND value = ''").pluck();
  if (isClosed.get(appId, date) !== 1) {
    // The app-wide group (dim 0) sorts last: its sketch is the one that closes the day.
    const [rows] = await opts.reader.read([
      {
        sql: `SELECT dim, value, count(*) AS n, ${devicesHex()} AS devices FROM device_days WHERE app = ? AND day = ?
          GROUP BY dim, value ORDER BY dim DESC, value`,
        params: [app, day],
      },
    ]);
    const groups = rows as DeviceGroup[];
    const setDaily = db.prepare('UPDATE telemetry_daily SET unique_devices = ?, sketch = ? WHERE app_id = ? AND date = ? AND event_type = ?');
    const setDim = db.prepare('UPDATE telemetry_daily_dims SET devices = ?, sketch = ? WHERE app_id = ? AND date = ? AND dim = ? AND value = ?');
    const store = (g: DeviceGroup) => {
      const sketch = addHex(new DeviceSketch(sketchPrecision(g.dim)), g.devices).toBuffer();
      // The stored count stays exact: it is the number of rows, whatever the sketch estimates.
      if (g.dim === DIM.event_type) setDaily.run(g.n, sketch, appId, date, g.value);
      else setDim.run(g.n, sketch, appId, date, DIM_NAME[g.dim], g.value);
    };
    for (let i = 0; i < groups.length; ) {
      await gate(() =>
        db
          .transaction(() => {
            const start = performance.now();
            do store(groups[i++]!);
            while (i < groups.length && performance.now() - start < WRITE_SLOT_BUDGET_MS);
          })
          .immediate(),
      );
    }
  }
  const del = db.prepare(
    `DELETE FROM device_days WHERE app = @app AND day = @day
       AND (dim, value, device) IN (SELECT dim, value, device FROM device_days WHERE app = @app AND day = @day LIMIT @limit)`,
  );
  for (;;) {
    const n = await gate(() => db.transaction(() => del.run({ app, day, limit: CLOSE_DELETE_ROWS }).changes).immediate());
    if (n < CLOSE_DELETE_ROWS || opts.signal?.aborted) return;
    opts.onStep?.();
  }
}
