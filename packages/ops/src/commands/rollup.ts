import { createInlineReader, isDay, runRebuildJob, runRollupJob } from '@mosis/ingest';
import type { CommandContext } from '../command.js';
import { LEASE_WAIT_MS, openTelemetryForJobs } from './telemetry-db.js';

export const usage = `rollup [--from YYYY-MM-DD --to YYYY-MM-DD]
    fold the rows stored since the last rollup into the aggregates, now; with --from/--to, rebuild the
    daily and crash aggregates of those days (both included) from the raw rows still kept`;

/** `ops rollup`: the scheduled rollup, on demand, or a rebuild of a range of days. */
export async function run(ctx: CommandContext): Promise<number> {
  const from = ctx.values.from as string | undefined;
  const to = ctx.values.to as string | undefined;
  if ((from === undefined) !== (to === undefined) || (from && (!isDay(from) || !isDay(to!) || from > to!))) {
    ctx.err(`usage: ops ${usage}\n(--from and --to go together: real days, from <= to)`);
    return 2;
  }
  const db = openTelemetryForJobs(ctx.config);
  try {
    const job = { db, reader: createInlineReader(db), waitMs: LEASE_WAIT_MS };
    const started = performance.now();
    if (from) {
      const stats = await runRebuildJob(job, { from, to: to! });
      ctx.out(`rebuilt ${from} .. ${to} in ${seconds(started)} s`);
      ctx.out(`  day aggregates written   ${stats.days}`);
      ctx.out(`  raw rows read            ${stats.rows}`);
      if (stats.skippedDays) ctx.out(`  kept (raw pruned)        ${stats.skippedDays}`);
    } else {
      const stats = await runRollupJob(job);
      ctx.out(`rolled up in ${seconds(started)} s`);
      ctx.out(`  raw rows folded in       ${stats.rows}`);
      ctx.out(`  steps                    ${stats.steps}`);
      ctx.out(`  days closed (sketched)   ${stats.closedDays}`);
      if (stats.skippedRows) ctx.out(`  passed over (pruned day) ${stats.skippedRows}`);
    }
    return 0;
  } finally {
    db.close();
  }
}

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(2);
