import type { DB, Logger } from '@mosis/shared';
import { ROLLUP_STEP_ROWS } from '../../limits.js';
import { listPartitions } from './partitions.js';
import { hasAppVersion, rollupPosition } from './aggregates.js';
import { dayNumberOf, lastDayOfMonth } from '../../days.js';
import { runNow, runPipeline, type WriteGate } from './pipeline.js';
import { closeDays } from './rollup-close.js';
import { StepWriter, stepQueries, type Step } from './rollup-step.js';
import type { SnapshotReader } from './snapshot-reader.js';
import type { RollupStats } from '../maintenance.js';

/**
 * Rollup: folds the raw rows stored since the last run into the daily aggregates (`telemetry_daily`,
 * `telemetry_daily_dims`, `crash_daily`, `crash_daily_devices`), found by storage position.
 *
 * `rollup_positions` holds, per partition, the last row id folded in. Rows are never updated after insert
 * and the one writer commits ids in increasing order (AUTOINCREMENT; in older partitions retention never
 * deletes the largest id), so in any snapshot the rows with a larger id are exactly those not yet folded
 * in. A run takes each partition up to its largest id when the run reaches it, in steps of
 * ROLLUP_STEP_ROWS:
 *  1. a snapshot read (reader thread, one read transaction) groups the step's rows: counts per (app, day,
 *     value) and the devices not yet recorded for that day;
 *  2. a write (in the writer's slot, one transaction with the other steps that fit in the slot) adds the
 *     counts (they are additive), inserts the devices of open days (counting the rows it added, so device
 *     counts stay exact), merges those of closed days into their sketches, and moves the position from the
 *     step's first id to its last, only if it is still there.
 * The invariant: every aggregate is the fold of exactly the rows up to its partition's position, never of
 * some rows twice or some rows not at all. A crash before a commit redoes its steps; after it, they are
 * done. Days older than OPEN_DAYS then close (rollup-close.ts). Runs are serialized by the maintenance
 * lease; the position check makes a second writer fail rather than count twice.
 *
 * Days before the retention watermark are final: their rows are not folded again (after an upgrade their
 * old aggregates stay, see migration 0006), and `rebuildRange` leaves them alone.
 */

export interface RollupOptions {
  /** telemetry.db, read-write (ingest's connection, or the ops command's). */
  db: DB;
  reader: SnapshotReader;
  /** The clock: which days are still open (today and yesterday, UTC). */
  now?: () => number;
  signal?: AbortSignal;
  log?: Logger;
  /** Called between steps (renews the maintenance lease). */
  onStep?: () => void;
  /** Runs each write transaction; ingest passes its writer's slot between group commits. */
  exclusive?: WriteGate;
}

/** Folds the rows stored so far, closing the days older than OPEN_DAYS on the way. */
export async function rollup(opts: RollupOptions): Promise<RollupStats> {
  const { db } = opts;
  const now = (opts.now ?? Date.now)();
  const gate = opts.exclusive ?? runNow;
  const writer = new StepWriter(db);
  const stats: RollupStats = { steps: 0, rows: 0, skippedRows: 0, closedDays: 0, aborted: false };
  // A slot's steps, and the counts they summed, commit together or not at all.
  const transaction = <T>(fn: () => T): T =>
    writeTransaction(db)(() => {
      try {
        const out = fn();
        writer.flush();
        return out;
      } catch (err) {
        writer.discard();
        throw err;
      }
    });
  const pipeline = { reader: opts.reader, gate, transaction, signal: opts.signal, onStep: opts.onStep };
  const close = { db, reader: opts.reader, gate, writer, now, signal: opts.signal, onStep: opts.onStep };
  for (const p of listPartitions(db)) {
    const monthDays = { fromDay: dayNumberOf(`${p.month}-01`), toDay: dayNumberOf(lastDayOfMonth(p.month)) };
    // The days before the earliest day of the last step written: a first run over months of rows (after an
    // upgrade) closes them as it passes, so device rows stay a few days' worth, not months'.
    let passed = -Infinity;
    let closedUpTo = -Infinity;
    const tasks = plan(db, p.kind, p.name).map((step) => ({
      queries: stepQueries(step),
      apply: (snapshot: (unknown[] | null)[]) => {
        const r = writer.apply(step, snapshot);
        stats.steps++;
        stats.rows += r.rows;
        stats.skippedRows += r.skippedRows;
        if (r.firstDay !== Infinity) passed = r.firstDay - 1;
      },
    }));
    const afterSlot = async () => {
      if (p.kind !== 'events' || passed <= closedUpTo) return;
      closedUpTo = passed;
      stats.closedDays += await closeDays({ ...close, ...monthDays, toDay: Math.min(monthDays.toDay, passed) });
    };
    const done = await runPipeline({ ...pipeline, afterSlot }, tasks);
    if (done.aborted) return { ...stats, aborted: true };
    // The month's rows are folded: its days older than OPEN_DAYS can close (those that just became so too).
    if (p.kind === 'events') stats.closedDays += await closeDays({ ...close, ...monthDays });
  }
  if (stats.skippedRows) opts.log?.warn('rollup passed over rows of days before the retention watermark', { rows: stats.skippedRows });
  return { ...stats, aborted: !!opts.signal?.aborted };
}

/** One write transaction on `db` (IMMEDIATE: it takes the write lock at once rather than on its first write). */
export function writeTransaction(db: DB): <T>(fn: () => T) => T {
  return (fn) => db.transaction(fn).immediate();
}

/** The steps that fold a partition's rows up to its largest id now. */
function plan(db: DB, kind: 'events' | 'crashes', table: string): Step[] {
  // Table names cannot be bound; `table` comes from the partition registry (partitionName's pattern).
  const last = (db.prepare(`SELECT max(id) FROM ${table}`).pluck().get() as number | null) ?? 0;
  const appVersion = kind === 'events' && hasAppVersion(db, table);
  const steps: Step[] = [];
  for (let from = rollupPosition(db, table); from < last; from = Math.min(last, from + ROLLUP_STEP_ROWS)) {
    steps.push({ kind, table, from, to: Math.min(last, from + ROLLUP_STEP_ROWS), appVersion });
  }
  return steps;
}

/**
 * Rows stored but not yet folded in, per partition: largest id minus position, read from the index ends
 * (cheap enough for every scrape). An upper bound: AUTOINCREMENT also uses up the ids of duplicates a
 * multi-row insert skipped.
 */
export function rowsWaiting(db: DB): { name: string; position: number; lastId: number; waiting: number }[] {
  return listPartitions(db).map((p) => {
    const lastId = (db.prepare(`SELECT max(id) FROM ${p.name}`).pluck().get() as number | null) ?? 0;
    const position = rollupPosition(db, p.name);
    return { name: p.name, position, lastId, waiting: Math.max(0, lastId - position) };
  });
}
