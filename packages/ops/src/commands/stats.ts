import { jobRuns, listPartitions, type JobRun } from '@mosis/ingest';
import { databasePath, openDatabase, type DB, type DatabaseName } from '@mosis/shared';
import { existsSync, statSync } from 'node:fs';
import type { CommandContext } from '../command.js';
import { describeReplicas } from '../litestream.js';
import { formatBytes, formatTime } from './telemetry-db.js';

export const usage = `stats
    per database: file and WAL size, replica lag; for telemetry.db also the partitions (rows, date range),
    the last rollup and prune, and the rows waiting for a rollup`;

const DAY_MS = 86_400_000;

/** `ops stats`: read-only, safe while the services run (full scans of the partitions for row counts). */
export async function run(ctx: CommandContext): Promise<number> {
  for (const name of ['portal', 'telemetry'] as DatabaseName[]) {
    const path = databasePath(ctx.config.DATA_DIR, name);
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
    const marks = db.prepare("SELECT kind, app_id, day FROM rollup_dirty").all() as { kind: 'events' | 'crashes'; app_id: number; day: string }[];
    let waiting = 0;
    for (const m of marks) {
      const table = `${m.kind === 'events' ? 'telemetry_events' : 'crash_reports'}_${m.day.slice(0, 7).replace('-', '_')}`;
      if (!has(table)) continue;
      const start = Date.parse(`${m.day}T00:00:00Z`);
      const sql = `SELECT count(*) AS n FROM ${table} WHERE app_id = ? AND timestamp / ${DAY_MS} = ? AND timestamp >= ? AND timestamp < ?`;
      waiting += (db.prepare(sql).get(m.app_id, start / DAY_MS, start, start + DAY_MS) as { n: number }).n;
    }
    out(`  waiting for rollup: ${marks.length} (app, day) marks, ${waiting} raw rows in those days`);
  }
}

function describeRun(run: JobRun | undefined): string {
  if (!run) return 'never';
  const state = run.ok === null ? 'running since ' + formatTime(run.started_at) : run.ok ? `ok at ${formatTime(run.finished_at)}` : `FAILED at ${formatTime(run.finished_at)}: ${run.error}`;
  const lastOk = run.ok === 0 && run.last_ok_at ? ` (last ok ${formatTime(run.last_ok_at)})` : '';
  return state + lastOk;
}
