import { createInlineReader, loadJobsConfig, runPruneJob, type PruneSummary } from '@mosis/ingest';
import type { CommandContext } from '../command.js';
import { formatBytes, leaseWaitMs, openPgForJobs, openTelemetryForJobs, telemetryDatabaseUrl } from './telemetry-db.js';

export const usage = `prune [--dry-run]
    apply the raw retention (RETENTION_DAYS, default 90) now: roll up what is waiting, drop whole month
    partitions, trim the boundary month, return freed space; --dry-run shows what would go (on
    telemetry.db, or on PostgreSQL with TELEMETRY_DATABASE_URL set)`;

/** `ops prune`: retention on demand. */
export async function run(ctx: CommandContext): Promise<number> {
  const { RETENTION_DAYS } = loadJobsConfig();
  const dryRun = ctx.values['dry-run'] === true;
  const url = telemetryDatabaseUrl();
  if (url) return pruneOnPg(ctx, url, { retentionDays: RETENTION_DAYS, dryRun });
  const db = openTelemetryForJobs(ctx.config, { readonly: dryRun });
  try {
    const r = await runPruneJob(
      { db, reader: createInlineReader(db), waitMs: leaseWaitMs() },
      { retentionDays: RETENTION_DAYS, dryRun, litestream: ctx.config.LITESTREAM },
    );
    printRemoval(ctx, r, { retentionDays: RETENTION_DAYS, dryRun });
    if (!dryRun) {
      ctx.out(`  freed pages returned: ${r.vacuumedPages}`);
      ctx.out(`  telemetry.db: ${formatBytes(r.fileBytesBefore)} -> ${formatBytes(r.fileBytesAfter)}${ctx.config.LITESTREAM ? ' (shrinks at the next Litestream checkpoint)' : ''}`);
    }
    return 0;
  } finally {
    db.close();
  }
}

/**
 * On PostgreSQL: the retention job under its lease (waiting up to LEASE_WAIT_MS, or OPS_LEASE_WAIT_MS), recorded in job_runs; a dry
 * run takes no lease, records nothing and changes nothing, as on SQLite.
 */
async function pruneOnPg(ctx: CommandContext, url: string, opts: { retentionDays: number; dryRun: boolean }): Promise<number> {
  const pg = await openPgForJobs(url);
  try {
    if (opts.dryRun) {
      printRemoval(ctx, await pg.maintenance.prune({ retentionDays: opts.retentionDays, dryRun: true }), opts);
      return 0;
    }
    const before = await pg.databaseBytes();
    const r = await pg.maintenance.runPrune({ retentionDays: opts.retentionDays, waitMs: leaseWaitMs() });
    printRemoval(ctx, r, opts);
    // Dropped partitions give their files back at once; trimmed rows' space is reused after autovacuum.
    ctx.out(`  database: ${formatBytes(before)} -> ${formatBytes(await pg.databaseBytes())} (${pg.where})`);
    return 0;
  } finally {
    await pg.close();
  }
}

function printRemoval(ctx: CommandContext, r: PruneSummary, opts: { retentionDays: number; dryRun: boolean }): void {
  const { dryRun } = opts;
  const verb = dryRun ? 'would ' : '';
  ctx.out(`${dryRun ? 'dry run: ' : ''}retention ${opts.retentionDays} days: raw rows before ${r.cutoffDay} ${dryRun ? 'would go' : 'removed'}`);
  ctx.out(`  rows ${dryRun ? 'to roll up first' : 'rolled up first'}: ${r.rolledUpFirst}`);
  if (!r.dropped.length && !r.trimmed.some((t) => t.rows)) ctx.out('  nothing to remove');
  for (const d of r.dropped) ctx.out(`  ${verb}drop  ${d.name.padEnd(26)} ${d.rows} rows`);
  for (const t of r.trimmed) if (t.rows) ctx.out(`  ${verb}trim  ${t.name.padEnd(26)} ${t.rows} rows`);
}
