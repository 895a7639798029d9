import type { Logger } from '@mosis/shared';
import cron from 'node-cron';
import { MaintenanceBusyError, type JobName, type TelemetryMaintenance } from '../store/maintenance.js';

/**
 * Rollup every 20 seconds (node-cron syntax, seconds optional): an answer is then at most about 40 s behind
 * a 202 (API.md: within 60 s). A run costs what was stored since the last one (bench/rollup.mjs).
 */
export const DEFAULT_ROLLUP_SCHEDULE = '*/20 * * * * *';
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
   * At rest: frees what the jobs hold (on SQLite their reader thread) unless a job is queued or running; the
   * next job takes it back. A rollup tick with nothing to fold reads nothing, so it stays freed until rows come.
   */
  rest(): Promise<void>;
  /** True while the jobs hold what rest() frees (for tests). */
  readonly readerStarted: boolean;
  /** Stops the schedules, aborts a running job between steps and ends what the jobs hold. */
  stop(): Promise<void>;
}

/** The queue and the schedules of the jobs (startScheduledJobs). */
interface JobQueue {
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
function startJobQueue(opts: {
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
 * Runs rollup and retention on their schedules inside the ingest process, on whichever store `maintenance`
 * is. A tick that finds the maintenance lease held (by `ops`, or on PostgreSQL by another ingest process)
 * is skipped, logged at `busyLogLevel` (the holder does the work; the next tick catches up).
 */
export function startScheduledJobs(opts: {
  maintenance: TelemetryMaintenance;
  config: Pick<ScheduleConfig, 'ROLLUP_SCHEDULE' | 'PRUNE_SCHEDULE' | 'RETENTION_DAYS'>;
  log: Logger;
  /** On PostgreSQL several processes tick at once and all but one skip: not news there ('debug'). */
  busyLogLevel?: 'info' | 'debug';
}): ScheduledJobs {
  const { maintenance, config } = opts;
  const jobs = startJobQueue({
    config,
    log: opts.log,
    leaseBusy: (err) => err instanceof MaintenanceBusyError,
    skipLevel: opts.busyLogLevel ?? 'info',
    work: (job, signal) => (job === 'rollup' ? maintenance.runRollup({ signal }) : maintenance.runPrune({ retentionDays: config.RETENTION_DAYS, signal })),
  });

  return {
    run: jobs.run,
    async rest() {
      if (!jobs.busy) await maintenance.rest();
    },
    get readerStarted() {
      return maintenance.holding;
    },
    // Ends a read in flight (its job then fails, aborted: its steps not written are redone).
    stop: () => jobs.stop(() => maintenance.close()),
  };
}
