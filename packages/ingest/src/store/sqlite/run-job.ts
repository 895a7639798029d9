import type { DB, Logger } from '@mosis/shared';
import { recordJobEnd, recordJobStart, withMaintenanceLease } from './job-state.js';
import { type JobName, type RollupStats } from '../maintenance.js';
import { prune, type PruneOptions, type PruneResult } from './retention.js';
import type { WriteGate } from './pipeline.js';
import { rebuildRange, type RebuildStats } from './rollup-rebuild.js';
import { rollup } from './rollup.js';
import type { SnapshotReader } from './snapshot-reader.js';

/**
 * The jobs as the scheduler and `ops` run them: under the maintenance lease, recorded in `job_runs`.
 * `waitMs` is how long to wait for a lease another process holds (the scheduler does not wait: it skips
 * the tick; `ops` waits a little).
 */
export interface JobContext {
  db: DB;
  reader: SnapshotReader;
  log?: Logger;
  signal?: AbortSignal;
  now?: () => number;
  waitMs?: number;
  /** Runs each write transaction (ingest: between group commits). */
  exclusive?: WriteGate;
}

/** Folds in the rows stored since the last run. */
export function runRollupJob(ctx: JobContext): Promise<RollupStats> {
  return recorded(ctx, 'rollup', (onStep) => rollup({ ...rollupOptions(ctx), onStep }));
}

/** Rebuilds the aggregates of `range` (both days included) from the raw rows (`ops rollup --from --to`). */
export function runRebuildJob(ctx: JobContext, range: { from: string; to: string }): Promise<RebuildStats> {
  return recorded(ctx, 'rollup', (onStep) => rebuildRange({ ...rollupOptions(ctx), onStep, ...range }));
}

function rollupOptions(ctx: JobContext) {
  return { db: ctx.db, reader: ctx.reader, log: ctx.log, signal: ctx.signal, now: ctx.now, exclusive: ctx.exclusive };
}

/** Applies retention. A dry run takes no lease and records nothing. */
export function runPruneJob(
  ctx: JobContext,
  opts: Pick<PruneOptions, 'retentionDays' | 'dryRun' | 'litestream' | 'trimChunkRows' | 'vacuumStepPages'>,
): Promise<PruneResult> {
  const args = { db: ctx.db, reader: ctx.reader, log: ctx.log, signal: ctx.signal, now: ctx.now, exclusive: ctx.exclusive, ...opts };
  if (opts.dryRun) return prune(args);
  return recorded(ctx, 'prune', (onStep) => prune({ ...args, onStep }));
}

async function recorded<T>(ctx: JobContext, job: JobName, fn: (onStep: () => void) => Promise<T>): Promise<T> {
  const now = ctx.now ?? Date.now;
  return withMaintenanceLease(ctx.db, { waitMs: ctx.waitMs, now }, async (renew) => {
    recordJobStart(ctx.db, job, now());
    try {
      const result = await fn(renew);
      recordJobEnd(ctx.db, job, now(), { summary: result });
      return result;
    } catch (err) {
      recordJobEnd(ctx.db, job, now(), { error: err });
      throw err;
    }
  });
}
