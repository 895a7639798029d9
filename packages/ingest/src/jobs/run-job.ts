import type { DB, Logger } from '@mosis/shared';
import { recordJobEnd, recordJobStart, withMaintenanceLease, type JobName } from './job-state.js';
import { prune, type PruneOptions, type PruneResult } from './retention.js';
import { rebuildRange, rollupDirty, type RollupStats, type WriteGate } from './rollup.js';
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

/** Rolls up the dirty days, or rebuilds `range` (both days included). */
export function runRollupJob(ctx: JobContext, range?: { from: string; to: string }): Promise<RollupStats> {
  return recorded(ctx, 'rollup', (onStep) => {
    const opts = { db: ctx.db, reader: ctx.reader, log: ctx.log, signal: ctx.signal, exclusive: ctx.exclusive, onStep };
    return range ? rebuildRange({ ...opts, ...range }) : rollupDirty(opts);
  });
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
