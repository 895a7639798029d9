import type { DB, Logger } from '@mosis/shared';
import cron from 'node-cron';
import { LeaseBusyError } from '../store/sqlite/job-state.js';
import { type JobName } from '../store/maintenance.js';
import { runPruneJob, runRollupJob } from '../store/sqlite/run-job.js';
import type { WriteGate } from '../store/sqlite/pipeline.js';
import { createLazyWorkerReader } from '../store/sqlite/snapshot-reader.js';

/**
 * Rollup every 20 seconds (node-cron syntax, seconds optional): an answer is then at most about 40 s behind
 * a 202 (API.md: within 60 s). A run costs what was stored since the last one (bench/rollup.mjs).
 */
export const DEFAULT_ROLLUP_SCHEDULE = '*/20 * * * * *';
/**
 * The scheduled jobs' reader thread rests after each snapshot read as long as the read took: it then uses
 * at most half a core and ingest keeps the rest (on a 2-core box that matters; see bench/rollup.mjs).
 */
export const SCHEDULED_ROLLUP_PAUSE_RATIO = 1;
/** Retention once a day, at 03:17 local time (off the hour, when nothing else tends to run). */
export const DEFAULT_PRUNE_SCHEDULE = '17 3 * * *';

export interface ScheduleConfig {
  ROLLUP_SCHEDULE: string;
  PRUNE_SCHEDULE: string;
  RETENTION_DAYS: number;
  LITESTREAM: boolean;
}

export interface ScheduledJobs {
  /** Runs a job now (queued behind a running one); resolves when it has run or was skipped. */
  run(job: JobName): Promise<void>;
  /**
   * At rest: ends the reader thread unless a job is queued or running (the next job's first read starts
   * it again). A rollup tick with nothing to fold reads nothing, so it stays ended until rows come.
   */
  rest(): Promise<void>;
  /** True while the jobs' reader thread runs (for tests). */
  readonly readerStarted: boolean;
  /** Stops the schedules, aborts a running job between steps and ends the reader thread. */
  stop(): Promise<void>;
}

/** The queue and the schedules every backend's jobs share (startScheduledJobs, startPgScheduledJobs). */
export interface JobQueue {
  run(job: JobName): Promise<void>;
  /** True while a job is queued or running. */
  readonly busy: boolean;
  /** Stops the schedules and aborts a running job between steps; `beforeDrain` runs before waiting for it. */
  stop(beforeDrain?: () => Promise<void>): Promise<void>;
}

/**
 * Runs `work` on the two schedules, one job at a time: a tick while the same job is queued or running is
 * skipped; a prune tick waits for a running rollup. A job that finds the maintenance lease held
 * (`leaseBusy`) is skipped, logged at `skipLevel` (the next tick catches up); any other failure is an error.
 */
export function startJobQueue(opts: {
  config: Pick<ScheduleConfig, 'ROLLUP_SCHEDULE' | 'PRUNE_SCHEDULE'>;
  log: Logger;
  work: (job: JobName, signal: AbortSignal) => Promise<object>;
  leaseBusy: (err: unknown) => boolean;
  skipLevel: 'info' | 'debug';
}): JobQueue {
  const { config, log } = opts;
  const abort = new AbortController();
  let chain: Promise<void> = Promise.resolve();
  const queued = new Set<JobName>();

  const execute = async (job: JobName) => {
    if (abort.signal.aborted) return;
    const started = performance.now();
    try {
      const result = await opts.work(job, abort.signal);
      // A rollup tick with nothing to fold is not news.
      const idle = job === 'rollup' && 'steps' in result && result.steps === 0 && 'closedDays' in result && result.closedDays === 0;
      (idle ? log.debug : log.info)(`${job} done`, { duration_ms: Math.round(performance.now() - started), ...result });
    } catch (err) {
      if (opts.leaseBusy(err)) log[opts.skipLevel](`${job} skipped`, { reason: (err as Error).message });
      else if (!abort.signal.aborted) log.error(`${job} failed`, { err });
    }
  };

  const run = (job: JobName): Promise<void> => {
    if (queued.has(job)) return chain;
    queued.add(job);
    chain = chain.then(async () => {
      try {
        await execute(job);
      } finally {
        queued.delete(job);
      }
    });
    return chain;
  };

  const tasks = [
    // The tick only queues the job (run() dedupes), so node-cron never sees a long execution overlap.
    cron.schedule(config.ROLLUP_SCHEDULE, () => void run('rollup'), { name: 'rollup' }),
    cron.schedule(config.PRUNE_SCHEDULE, () => void run('prune'), { name: 'prune' }),
  ];

  return {
    run,
    get busy() {
      return queued.size > 0;
    },
    async stop(beforeDrain) {
      abort.abort();
      for (const t of tasks) await t.destroy();
      await beforeDrain?.();
      await chain;
    },
  };
}

/**
 * Runs rollup and retention on their schedules inside the ingest process (startJobQueue). When `ops` holds
 * the maintenance lease, the tick is skipped (the next one catches up).
 */
export function startScheduledJobs(opts: {
  db: DB;
  dbPath: string;
  config: ScheduleConfig;
  log: Logger;
  /** The ingest writer's slot between group commits, for the jobs' write transactions. */
  exclusive?: WriteGate;
  now?: () => number;
}): ScheduledJobs {
  const { db, config, log } = opts;
  const reader = createLazyWorkerReader(opts.dbPath, { pauseRatio: SCHEDULED_ROLLUP_PAUSE_RATIO });
  const jobs = startJobQueue({
    config,
    log,
    leaseBusy: (err) => err instanceof LeaseBusyError,
    skipLevel: 'info',
    work: (job, signal) => {
      const ctx = { db, reader, log, signal, now: opts.now, exclusive: opts.exclusive };
      return job === 'rollup' ? runRollupJob(ctx) : runPruneJob(ctx, { retentionDays: config.RETENTION_DAYS, litestream: config.LITESTREAM });
    },
  });

  return {
    run: jobs.run,
    async rest() {
      if (!jobs.busy) await reader.release();
    },
    get readerStarted() {
      return reader.started;
    },
    // Ends a snapshot read in flight (its job then fails, aborted: its steps not written are redone).
    stop: () => jobs.stop(() => reader.close()),
  };
}
