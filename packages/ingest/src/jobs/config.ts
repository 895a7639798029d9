import { envBoolean, loadConfig } from '@mosis/shared';
import cron from 'node-cron';
import { z } from 'zod';
import { ingestConfigSchema } from '../config.js';
import { DEFAULT_PRUNE_SCHEDULE, DEFAULT_ROLLUP_SCHEDULE } from './scheduler.js';

const cronExpression = z.string().trim().refine((s) => cron.validate(s), 'must be a cron expression (e.g. "*/5 * * * *")');

/** Settings of the scheduled jobs (read by the ingest service and `ops prune`). */
export const jobsConfigSchema = z.object({
  /** When the rollup runs (node-cron syntax). */
  ROLLUP_SCHEDULE: cronExpression.default(DEFAULT_ROLLUP_SCHEDULE),
  /** When retention runs (node-cron syntax). */
  PRUNE_SCHEDULE: cronExpression.default(DEFAULT_PRUNE_SCHEDULE),
  /** Days of raw events and crashes kept; aggregates are kept forever. */
  RETENTION_DAYS: ingestConfigSchema.shape.RETENTION_DAYS,
  LITESTREAM: envBoolean.default(false),
});

export type JobsConfig = z.infer<typeof jobsConfigSchema>;

export function loadJobsConfig(env: NodeJS.ProcessEnv = process.env): JobsConfig {
  return loadConfig(jobsConfigSchema, env);
}
