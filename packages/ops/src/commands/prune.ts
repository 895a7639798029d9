import { createInlineReader, loadJobsConfig, runPruneJob } from '@mosis/ingest';
import type { CommandContext } from '../command.js';
import { formatBytes, LEASE_WAIT_MS, openTelemetryForJobs } from './telemetry-db.js';

export const usage = `prune [--dry-run]
    apply the raw retention (RETENTION_DAYS, default 90) now: roll up what is waiting, drop whole month
    partitions, trim the boundary month, return freed space; --dry-run shows what would go`;

/** `ops prune`: retention on demand. */
export async function run(ctx: CommandContext): Promise<number> {
  const { RETENTION_DAYS } = loadJobsConfig();
  const dryRun = ctx.values['dry-run'] === true;
  const db = openTelemetryForJobs(ctx.config, { readonly: dryRun });
  try {
    const r = await runPruneJob(
      { db, reader: createInlineReader(db), waitMs: LEASE_WAIT_MS },
      { retentionDays: RETENTION_DAYS, dryRun, litestream: ctx.config.LITESTREAM },
    );
    const verb = dryRun ? 'would ' : '';
    ctx.out(`${dryRun ? 'dry run: ' : ''}retention ${RETENTION_DAYS} days: raw rows before ${r.cutoffDay} ${dryRun ? 'would go' : 'removed'}`);
    ctx.out(`  rows ${dryRun ? 'to roll up first' : 'rolled up first'}: ${r.rolledUpFirst}`);
    if (!r.dropped.length && !r.trimmed.some((t) => t.rows)) ctx.out('  nothing to remove');
    for (const d of r.dropped) ctx.out(`  ${verb}drop  ${d.name.padEnd(26)} ${d.rows} rows`);
    for (const t of r.trimmed) if (t.rows) ctx.out(`  ${verb}trim  ${t.name.padEnd(26)} ${t.rows} rows`);
    if (!dryRun) {
      ctx.out(`  freed pages returned: ${r.vacuumedPages}`);
      ctx.out(`  telemetry.db: ${formatBytes(r.fileBytesBefore)} -> ${formatBytes(r.fileBytesAfter)}${ctx.config.LITESTREAM ? ' (shrinks at the next Litestream checkpoint)' : ''}`);
    }
    return 0;
  } finally {
    db.close();
  }
}
