import {
  copyFromSqlite,
  createInlineReader,
  loadJobsConfig,
  migratePgUp,
  openPgPool,
  redactUrl,
  runRollupJob,
  telemetryDatabaseUrlSchema,
  verifyCopy,
} from '@mosis/ingest';
import type { CommandContext } from '../command.js';
import { leaseWaitMs, openTelemetryForJobs } from './telemetry-db.js';

export const usage = `telemetry-migrate --to postgres://user:password@host:port/database
    copy telemetry.db into PostgreSQL (stop ingest first): roll up what is waiting, apply PostgreSQL's
    telemetry schema, copy raw rows within RETENTION_DAYS and every aggregate, then compare the rows of
    every table per day (exit 1 on any difference). Resumable: run it again after a failure, nothing is
    copied twice. Then set TELEMETRY_DATABASE_URL for both services`;

/** `ops telemetry-migrate`: moving an existing box's telemetry to PostgreSQL. */
export async function run(ctx: CommandContext): Promise<number> {
  const to = telemetryDatabaseUrlSchema.safeParse(ctx.values.to);
  if (!to.success || !to.data) {
    ctx.err(`usage: ops ${usage}\n(--to must be a postgres:// URL)`);
    return 2;
  }
  const url = to.data;
  const { RETENTION_DAYS } = loadJobsConfig();
  const db = openTelemetryForJobs(ctx.config);
  const pool = openPgPool(url, { max: 2, applicationName: 'mosis-ops-migrate' });
  try {
    // Every raw row folded first: PostgreSQL's rollup position then means "everything copied is in the aggregates".
    const folded = await runRollupJob({ db, reader: createInlineReader(db), waitMs: leaseWaitMs() });
    ctx.out(`rolled up first: ${folded.rows} rows`);
    const applied = await migratePgUp(pool);
    ctx.out(`PostgreSQL ${redactUrl(url)}: ${applied.length ? `applied ${applied.join(', ')}` : 'schema up to date'}`);
    const copied = await copyFromSqlite(db, pool, { retentionDays: RETENTION_DAYS });
    for (const [source, rows] of Object.entries(copied.raw)) ctx.out(`  copied ${source.padEnd(26)} ${rows} rows`);
    for (const [table, rows] of Object.entries(copied.aggregates)) ctx.out(`  upserted ${table.padEnd(24)} ${rows} rows`);

    const checks = await verifyCopy(db, pool, { retentionDays: RETENTION_DAYS });
    ctx.out('');
    ctx.out(`${'table'.padEnd(22)} ${'days'.padStart(5)} ${'telemetry.db'.padStart(16)} ${'postgres'.padStart(16)}  result`);
    let differences = 0;
    for (const c of checks) {
      ctx.out(`${c.table.padEnd(22)} ${String(c.days).padStart(5)} ${c.sqlite.padStart(16)} ${c.postgres.padStart(16)}  ${c.differing.length ? `${c.differing.length} days differ` : 'ok'}`);
      for (const d of c.differing) ctx.out(`  ${d.day}: telemetry.db ${d.sqlite}, postgres ${d.postgres}`);
      differences += c.differing.length;
    }
    ctx.out('(raw tables: rows within RETENTION_DAYS; telemetry_daily, _dims and crash_daily: rows/summed counts)');
    if (differences) {
      ctx.err(`telemetry-migrate: ${differences} table-days differ (was ingest still writing? stop it and run again)`);
      return 1;
    }
    ctx.out('every table matches: set TELEMETRY_DATABASE_URL for the core API and ingest, and start them');
    return 0;
  } finally {
    await pool.end();
    db.close();
  }
}
