import { createInlineReader, isDay, runRollupJob } from '@mosis/ingest';
import type { CommandContext } from '../command.js';
import { LEASE_WAIT_MS, openTelemetryForJobs } from './telemetry-db.js';

export const usage = `rollup [--from YYYY-MM-DD --to YYYY-MM-DD]
    roll up every day that received events since the last rollup, now; with --from/--to, rebuild the
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
    const started = performance.now();
    const stats = await runRollupJob({ db, reader: createInlineReader(db), waitMs: LEASE_WAIT_MS }, from ? { from, to: to! } : undefined);
    const seconds = (performance.now() - started) / 1000;
    ctx.out(`${from ? `rebuilt ${from} .. ${to}` : 'rolled up dirty days'} in ${seconds.toFixed(2)} s`);
    ctx.out(`  day aggregates written   ${stats.days}`);
    ctx.out(`  raw rows read            ${stats.rawRows}`);
    ctx.out(`  left dirty (new rows)    ${stats.leftDirty}`);
    if (stats.skippedDays) ctx.out(`  skipped (raw pruned)     ${stats.skippedDays}`);
    return 0;
  } finally {
    db.close();
  }
}
