import { jobRuns, listPartitions, rowsWaiting, type JobRun, type PgTelemetryStats } from '@mosis/ingest';
import { databasePath, openDatabase, type DB, type DatabaseName } from '@mosis/shared';
import { existsSync, statSync } from 'node:fs';
import type { CommandContext } from '../command.js';
import { describeReplicas } from '../litestream.js';
import { formatBytes, formatTime, openPgForJobs, telemetryDatabaseUrl } from './telemetry-db.js';

export const usage = `stats
    per database: file and WAL size, replica lag; for telemetry.db also the partitions (rows, date range),
    the last rollup and prune, and the rows waiting for a rollup (per partition, up to which id it is folded).
    With TELEMETRY_DATABASE_URL set, telemetry's on PostgreSQL: database size, partitions (rows, counted or,
    when large, the planner's ~estimate; date range), the last rollup and prune, the rows waiting`;

/** `ops stats`: read-only, safe while the services run (full scans of the partitions for row counts). */
export async function run(ctx: CommandContext): Promise<number> {
  const url = telemetryDatabaseUrl();
  for (const name of ['portal', 'telemetry'] as DatabaseName[]) {
    const path = databasePath(ctx.config.DATA_DIR, name);
    if (name === 'telemetry' && url) {
      // Kept after telemetry-migrate until analytics are checked (README): say it is not what the services use.
      if (existsSync(path)) ctx.out(`telemetry.db  ${path}: not in use (TELEMETRY_DATABASE_URL is set)`);
      await pgTelemetryStats(url, ctx.out);
      continue;
    }
    if (!existsSync(path)) {
      ctx.out(`${name}.db: not created yet (${path})`);
      continue;
    }
    const wal = existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0;
    ctx.out(`${name}.db  ${path}`);
    ctx.out(`  size ${formatBytes(statSync(path).size)}, WAL ${formatBytes(wal)}`);
    for (const line of await describeReplicas(ctx.config.DATA_DIR, name)) ctx.out(`  ${line}`);
    if (name !== 'telemetry') continue;
    const db = openDatabase(path, { readonly: true });
    try {
      telemetryStats(db, ctx.out);
    } finally {
      db.close();
    }
  }
  return 0;
}

function telemetryStats(db: DB, out: (line: string) => void): void {
  const has = (table: string) => !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
  if (!has('telemetry_partitions')) {
    out('  not migrated yet');
    return;
  }
  const free = db.pragma('freelist_count', { simple: true }) as number;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  out(`  free pages ${free} (${formatBytes(free * pageSize)})`);
  out('  partitions:');
  const parts = listPartitions(db);
  if (!parts.length) out('    (none)');
  for (const p of parts) {
    const r = db.prepare(`SELECT count(*) AS n, min(timestamp) AS lo, max(timestamp) AS hi FROM ${p.name}`).get() as { n: number; lo: number | null; hi: number | null };
    const range = r.n ? `${formatTime(r.lo).slice(0, 10)} .. ${formatTime(r.hi).slice(0, 10)}` : 'empty';
    out(`    ${p.name.padEnd(26)} ${String(r.n).padStart(10)} rows  ${range}`);
  }
  const daily = db.prepare('SELECT count(*) AS n, min(date) AS lo, max(date) AS hi FROM telemetry_daily').get() as { n: number; lo: string | null; hi: string | null };
  out(`  telemetry_daily: ${daily.n} rows${daily.n ? ` (${daily.lo} .. ${daily.hi})` : ''}`);
  if (has('crash_daily')) {
    const crashes = db.prepare('SELECT count(*) AS n FROM crash_daily').get() as { n: number };
    out(`  crash_daily: ${crashes.n} rows`);
  }
  if (has('job_runs')) {
    const runs = new Map(jobRuns(db).map((r) => [r.job, r]));
    for (const job of ['rollup', 'prune'] as const) out(`  last ${job}: ${describeRun(runs.get(job))}`);
  }
  if (has('rollup_positions')) {
    const parts = rowsWaiting(db);
    const waiting = parts.reduce((sum, p) => sum + p.waiting, 0);
    out(`  waiting for rollup: ${waiting} rows`);
    for (const p of parts) if (p.waiting) out(`    ${p.name.padEnd(26)} folded up to id ${p.position} of ${p.lastId}`);
  }
}

/** Telemetry on PostgreSQL: what the SQLite section shows, in PostgreSQL's terms. */
async function pgTelemetryStats(url: string, out: (line: string) => void): Promise<void> {
  const pg = await openPgForJobs(url);
  let s: PgTelemetryStats;
  try {
    s = await pg.stats();
  } finally {
    await pg.close();
  }
  out(`telemetry on PostgreSQL  ${pg.where}`);
  out(`  database size ${formatBytes(s.databaseBytes)}`);
  out('  partitions:');
  if (!s.partitions.length) out('    (none)');
  for (const p of s.partitions) {
    const rows = `${p.estimated ? '~' : ''}${p.rows}`;
    const range = p.firstDay ? `${p.firstDay} .. ${p.lastDay}` : 'empty';
    out(`    ${p.name.padEnd(26)} ${rows.padStart(10)} rows  ${range}`);
  }
  out(`  telemetry_daily: ${s.daily.rows} rows${s.daily.rows ? ` (${s.daily.firstDay} .. ${s.daily.lastDay})` : ''}`);
  out(`  crash_daily: ${s.crashDailyRows} rows`);
  const runs = new Map(s.jobRuns.map((r) => [r.job, r]));
  for (const job of ['rollup', 'prune'] as const) out(`  last ${job}: ${describeRun(runs.get(job))}`);
  out(`  waiting for rollup: ${s.waiting.events + s.waiting.crashes} rows (ids since the rollup's position, skipped duplicates included)`);
  for (const kind of ['events', 'crashes'] as const) if (s.waiting[kind]) out(`    ${kind.padEnd(26)} ${s.waiting[kind]}`);
}

function describeRun(run: JobRun | undefined): string {
  if (!run) return 'never';
  const state = run.ok === null ? 'running since ' + formatTime(run.started_at) : run.ok ? `ok at ${formatTime(run.finished_at)}` : `FAILED at ${formatTime(run.finished_at)}: ${run.error}`;
  const lastOk = run.ok === 0 && run.last_ok_at ? ` (last ok ${formatTime(run.last_ok_at)})` : '';
  return state + lastOk;
}
