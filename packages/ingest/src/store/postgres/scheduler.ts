import type { Logger } from '@mosis/shared';
import cron from 'node-cron';
import type { ScheduleConfig, ScheduledJobs } from '../../jobs/scheduler.js';
import { PgLeaseBusyError, type PgTelemetryMaintenance } from './maintenance.js';

/**
 * The scheduled jobs of an ingest process on PostgreSQL: the same schedules as on SQLite
 * (jobs/scheduler.ts), but several processes tick at once, so each run takes the maintenance lease and a
 * process that finds it held skips the tick (the holder does the work; the next tick catches up). The
 * prune tick also makes the partitions of this month and the next.
 */
export function startPgScheduledJobs(opts: { maintenance: PgTelemetryMaintenance; config: ScheduleConfig; log: Logger }): ScheduledJobs {
  const { maintenance, config, log } = opts;
  const abort = new AbortController();
  let chain: Promise<void> = Promise.resolve();
  const queued = new Set<string>();

  const execute = async (job: 'rollup' | 'prune') => {
    if (abort.signal.aborted) return;
    const started = performance.now();
    try {
      const result =
        job === 'rollup'
          ? await maintenance.runJob('rollup', () => maintenance.rollup({ signal: abort.signal }))
          : await maintenance.runJob('prune', async () => {
              await maintenance.ensurePartitionsAhead();
              return maintenance.prune({ retentionDays: config.RETENTION_DAYS, signal: abort.signal });
            });
      const idle = job === 'rollup' && 'steps' in result && result.steps === 0 && result.closedDays === 0;
      (idle ? log.debug : log.info)(`${job} done`, { duration_ms: Math.round(performance.now() - started), ...result });
    } catch (err) {
      if (err instanceof PgLeaseBusyError) log.debug(`${job} skipped`, { reason: err.message });
      else if (!abort.signal.aborted) log.error(`${job} failed`, { err });
    }
  };

  const run = (job: 'rollup' | 'prune'): Promise<void> => {
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
    cron.schedule(config.ROLLUP_SCHEDULE, () => void run('rollup'), { name: 'rollup' }),
    cron.schedule(config.PRUNE_SCHEDULE, () => void run('prune'), { name: 'prune' }),
  ];

  return {
    run,
    // The jobs read PostgreSQL through the pool: there is no reader thread to end at rest.
    rest: async () => {},
    readerStarted: false,
    async stop() {
      abort.abort();
      for (const t of tasks) await t.destroy();
      await chain;
    },
  };
}
