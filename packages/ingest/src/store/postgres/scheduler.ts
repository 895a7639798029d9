import type { Logger } from '@mosis/shared';
import { startJobQueue, type ScheduleConfig, type ScheduledJobs } from '../../jobs/scheduler.js';
import { PgLeaseBusyError, type PgTelemetryMaintenance } from './maintenance.js';

/**
 * The scheduled jobs of an ingest process on PostgreSQL: the same schedules as on SQLite
 * (jobs/scheduler.ts), but several processes tick at once, so each run takes the maintenance lease and a
 * process that finds it held skips the tick (the holder does the work; the next tick catches up). The
 * prune tick also makes the partitions of this month and the next.
 */
export function startPgScheduledJobs(opts: { maintenance: PgTelemetryMaintenance; config: ScheduleConfig; log: Logger }): ScheduledJobs {
  const { maintenance, config, log } = opts;
  const jobs = startJobQueue({
    config,
    log,
    leaseBusy: (err) => err instanceof PgLeaseBusyError,
    skipLevel: 'debug',
    work: (job, signal) =>
      job === 'rollup'
        ? maintenance.runJob('rollup', () => maintenance.rollup({ signal }))
        : maintenance.runJob('prune', async () => {
            await maintenance.ensurePartitionsAhead();
            return maintenance.prune({ retentionDays: config.RETENTION_DAYS, signal });
          }),
  });

  return {
    run: jobs.run,
    // The jobs read PostgreSQL through the pool: there is no reader thread to end at rest.
    rest: async () => {},
    readerStarted: false,
    stop: () => jobs.stop(),
  };
}
