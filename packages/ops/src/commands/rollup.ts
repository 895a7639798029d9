import { createInlineReader, isDay, runRebuildJob, runRollupJob, type RebuildStats, type RollupStats } from '@mosis/ingest';
import type { CommandContext } from '../command.js';
import { leaseWaitMs, openPgForJobs, openTelemetryForJobs, telemetryDatabaseUrl } from './telemetry-db.js';

export const usage = `rollup [--from YYYY-MM-DD --to YYYY-MM-DD]
    fold the rows stored since the last rollup into the aggregates, now; with --from/--to, rebuild the
    daily and crash aggregates of those days (both included) from the raw rows still kept (on
    telemetry.db, or on PostgreSQL with TELEMETRY_DATABASE_URL set)`;

/** `ops rollup`: the scheduled rollup, on demand, or a rebuild of a range of days. */
export async function run(ctx: CommandContext): Promise<number> {
  const from = ctx.values.from as string | undefined;
  const to = ctx.values.to as string | undefined;
  if ((from === undefined) !== (to === undefined) || (from && (!isDay(from) || !isDay(to!) || from > to!))) {
    ctx.err(`usage: ops ${usage}\n(--from and --to go together: real days, from <= to)`);
    return 2;
  }
  const url = telemetryDatabaseUrl();
  if (url) return rollupOnPg(ctx, url, from ? { from, to: to! } : undefined);
  const db = openTelemetryForJobs(ctx.config);
  try {
    const job = { db, reader: createInlineReader(db), waitMs: leaseWaitMs() };
    const started = performance.now();
    if (from) {
      printRebuild(ctx, { from, to: to! }, await runRebuildJob(job, { from, to: to! }), started);
    } else {
      printRollup(ctx, await runRollupJob(job), started);
    }
    return 0;
  } finally {
    db.close();
  }
}

/**
 * On PostgreSQL: the same jobs under its lease (waiting up to LEASE_WAIT_MS, or OPS_LEASE_WAIT_MS, for a
 * scheduled run), recorded in job_runs.
 */
async function rollupOnPg(ctx: CommandContext, url: string, range: { from: string; to: string } | undefined): Promise<number> {
  const pg = await openPgForJobs(url);
  try {
    const started = performance.now();
    if (range) {
      const stats = await pg.maintenance.runRebuild({ ...range, waitMs: leaseWaitMs() });
      printRebuild(ctx, range, stats, started);
      ctx.out(`  days closed (sketched)   ${stats.closedDays}`);
    } else {
      printRollup(ctx, await pg.maintenance.runRollup({ waitMs: leaseWaitMs() }), started);
    }
    return 0;
  } finally {
    await pg.close();
  }
}

function printRebuild(ctx: CommandContext, range: { from: string; to: string }, stats: Pick<RebuildStats, 'days' | 'rows' | 'skippedDays'>, started: number): void {
  ctx.out(`rebuilt ${range.from} .. ${range.to} in ${seconds(started)} s`);
  ctx.out(`  day aggregates written   ${stats.days}`);
  ctx.out(`  raw rows read            ${stats.rows}`);
  if (stats.skippedDays) ctx.out(`  kept (raw pruned)        ${stats.skippedDays}`);
}

function printRollup(ctx: CommandContext, stats: RollupStats, started: number): void {
  ctx.out(`rolled up in ${seconds(started)} s`);
  ctx.out(`  raw rows folded in       ${stats.rows}`);
  ctx.out(`  steps                    ${stats.steps}`);
  ctx.out(`  days closed (sketched)   ${stats.closedDays}`);
  if (stats.skippedRows) ctx.out(`  passed over (pruned day) ${stats.skippedRows}`);
}

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(2);
