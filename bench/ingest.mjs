// Ingest benchmark: the real service over HTTP, driven by autocannon in a separate process, against
// (a) the raw limit: better-sqlite3 inserting the same rows in 1000-row transactions into the same schema,
// (b) a naive baseline: the same service committing one transaction per request (no group commit).
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APPS, appPackage, DEVICES, SPREAD_MS, uuidv7 } from './lib/events.mjs';
import { load } from './lib/load.mjs';
import { loadavg } from 'node:os';
import { cpuSeconds, DATABASES, databasePath, migrateUp, openDatabase, ROOT, seedPortal, startIngest, watchRss } from './lib/service.mjs';

const { ensurePartition } = await import(`${ROOT}packages/ingest/dist/store/sqlite/partitions.js`);
const { monthOf } = await import(`${ROOT}packages/ingest/dist/days.js`);

/** Seconds per case; batches of 100 run 30 s (the sustained target). BENCH_QUICK=1 shortens everything. */
const QUICK = process.env.BENCH_QUICK === '1';
const CASES = [
  { batch: 1, connections: 128, seconds: QUICK ? 3 : 10 },
  { batch: 10, connections: 64, seconds: QUICK ? 3 : 10 },
  { batch: 100, connections: 32, seconds: QUICK ? 5 : 30 },
  { batch: 1000, connections: 8, seconds: QUICK ? 3 : 10 },
];
const BASELINE_CASES = [
  { batch: 1, connections: 128, seconds: QUICK ? 3 : 8 },
  { batch: 100, connections: 32, seconds: QUICK ? 3 : 8 },
];
const WARMUP_SECONDS = 2;
const RAW_ROWS = QUICK ? 200_000 : 1_000_000;
const RAW_TX_ROWS = 1_000;

/** Runs `cases` against a fresh service; returns one row of figures per case plus the bytes per event. */
async function runService(label, cases, env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mosis-bench-'));
  try {
    await seedPortal(dir, Array.from({ length: APPS }, (_, i) => appPackage(i)));
    const svc = await startIngest(dir, env);
    const rows = [];
    try {
      for (const c of cases) {
        await load(svc.url, { ...c, seconds: WARMUP_SECONDS });
        const stopRss = watchRss(svc.pid);
        const cpu0 = cpuSeconds(svc.pid);
        const r = await load(svc.url, c);
        const cpu = cpuSeconds(svc.pid) - cpu0;
        const rss = stopRss();
        const ok = r.requests - r.non2xx;
        rows.push({
          label,
          batch: c.batch,
          connections: c.connections,
          seconds: r.durationSec,
          reqPerSec: ok / r.durationSec,
          eventsPerSec: (ok * c.batch) / r.durationSec,
          p50: r.p50,
          p99: r.p99,
          rssMiB: rss / 2 ** 20,
          // CPU the service used per stored event: a figure that holds when other work shares the cores.
          cpuPct: (100 * cpu) / r.durationSec,
          cpuUsPerEvent: (1e6 * cpu) / Math.max(1, ok * c.batch),
          failed: r.non2xx + r.errors + r.timeouts,
        });
        process.stdout.write(`  ${label} batch ${c.batch}: ${fmt(rows.at(-1).eventsPerSec)} events/s, p99 ${r.p99} ms\n`);
      }
    } finally {
      await svc.stop();
    }
    return { rows, bytesPerEvent: bytesPerEvent(databasePath(dir, 'telemetry')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Pages of the event partitions (tables and their indexes) divided by their rows. */
function bytesPerEvent(path) {
  const db = openDatabase(path);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = db.prepare("SELECT sum(pgsize) AS b FROM dbstat WHERE name LIKE 'telemetry_events_%'").get().b ?? 0;
    const n = db.prepare('SELECT count(*) AS n FROM telemetry_events').get().n;
    return { bytes: bytes / n, rows: n };
  } finally {
    db.close();
  }
}

/** (a) The raw limit: the same rows straight into the same schema, 1000 per transaction. */
export async function rawLimit() {
  const dir = mkdtempSync(join(tmpdir(), 'mosis-bench-raw-'));
  try {
    const path = databasePath(dir, 'telemetry');
    const db = openDatabase(path);
    await migrateUp(db, DATABASES.telemetry.migrations);
    const name = ensurePartition(db, 'events', monthOf(Date.now()));
    for (let i = 0; i < APPS; i++) db.prepare('INSERT INTO dim_apps (app_id, package_id) VALUES (?, ?)').run(`bench-app-${i}`, appPackage(i));
    for (let i = 0; i < 8; i++) db.prepare('INSERT INTO dim_event_types (name) VALUES (?)').run(`type${i}`);
    const insert = db.prepare(`INSERT INTO ${name} (app_id, device_id, event_type, timestamp, event_id, mosis_version, event_data)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`);
    const secret = 'bench-secret-bench-secret-bench-secret';
    const deviceHash = Array.from({ length: DEVICES }, (_, d) => createHmac('sha256', secret).update(`bench-device-${d}`).digest().readBigInt64BE(0));
    const tx = db.transaction((rows) => {
      for (const r of rows) insert.run(r[0], r[1], r[2], r[3], r[4], r[5], r[6]);
    });
    let insertMs = 0;
    let cpuUs = 0;
    for (let done = 0; done < RAW_ROWS; done += RAW_TX_ROWS) {
      // Rows are built outside the timed part: this measures SQLite, not the generator.
      const now = Date.now();
      const rows = [];
      for (let i = 0; i < RAW_TX_ROWS; i += 100) {
        const device = Math.floor(Math.random() * DEVICES);
        for (let j = 0; j < 100; j++) {
          const ts = now - Math.floor(Math.random() * SPREAD_MS);
          rows.push([(device % APPS) + 1, deviceHash[device], (j % 8) + 1, ts, Buffer.from(uuidv7(ts).replaceAll('-', ''), 'hex'), '1.4.2', '{"screen":"home"}']);
        }
      }
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      tx.immediate(rows);
      const c = process.cpuUsage(c0);
      insertMs += performance.now() - t0;
      cpuUs += c.user + c.system;
    }
    db.close();
    return { eventsPerSec: RAW_ROWS / (insertMs / 1000), cpuUsPerEvent: cpuUs / RAW_ROWS, ...bytesPerEvent(path) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');

function table(rows) {
  const head = ['service', 'batch', 'conns', 'secs', 'req/s', 'events/s', 'p50 ms', 'p99 ms', 'RSS MiB', 'CPU %', 'CPU us/event', 'failed'];
  const body = rows.map((r) => [r.label, r.batch, r.connections, fmt(r.seconds), fmt(r.reqPerSec), fmt(r.eventsPerSec), fmt(r.p50, 1), fmt(r.p99, 1), fmt(r.rssMiB, 1), fmt(r.cpuPct), fmt(r.cpuUsPerEvent, 1), r.failed]);
  const widths = head.map((h, i) => Math.max(String(h).length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padStart(widths[i])).join('  ');
  console.log(line(head));
  for (const b of body) console.log(line(b));
}

const load1 = () => loadavg()[0].toFixed(2);

export async function run() {
  // Other work on the machine slows every figure; the load average says how much was going on.
  console.log(`load average at start: ${load1()} (${(await import('node:os')).cpus().length} cores)`);
  console.log(`ingest: ${DEVICES} devices, ${APPS} apps, timestamps over the last ${SPREAD_MS / 1000} s, load generator in its own process`);
  const grouped = await runService('ingest', CASES);
  const naive = await runService('naive', BASELINE_CASES, { INGEST_FLUSH_MAX_EVENTS: '1', INGEST_FLUSH_INTERVAL_MS: '0' });
  process.stdout.write('  raw better-sqlite3 limit...\n');
  const raw = await rawLimit();

  console.log(`\nload average at end: ${load1()}`);
  table([...grouped.rows, ...naive.rows]);
  console.log(`raw limit (a): ${fmt(raw.eventsPerSec)} events/s, ${fmt(raw.cpuUsPerEvent, 1)} CPU us/event (better-sqlite3, ${RAW_TX_ROWS}-row transactions, ${fmt(raw.rows)} rows, ${fmt(raw.bytes, 1)} bytes/event)`);
  console.log(`bytes per stored event (ingest, tables + indexes): ${fmt(grouped.bytesPerEvent.bytes, 1)} over ${fmt(grouped.bytesPerEvent.rows)} rows`);

  const at = (rows, batch) => rows.find((r) => r.batch === batch);
  const b100 = at(grouped.rows, 100);
  const b1 = at(grouped.rows, 1);
  console.log('\nratios');
  for (const r of grouped.rows) {
    const n = at(naive.rows, r.batch);
    console.log(
      `  batch ${String(r.batch).padStart(4)}: ${fmt((100 * r.eventsPerSec) / raw.eventsPerSec, 1)}% of raw limit (a) in events/s, ` +
        `raw CPU/event is ${fmt((100 * raw.cpuUsPerEvent) / r.cpuUsPerEvent, 1)}% of ingest's` +
        (n ? `; ${fmt(r.eventsPerSec / n.eventsPerSec, 2)}x naive (b) in events/s, ${fmt(n.cpuUsPerEvent / r.cpuUsPerEvent, 2)}x less CPU/event` : ''),
    );
  }
  const peakRss = Math.max(...grouped.rows.map((r) => r.rssMiB));
  const checks = [
    ['batches of 100: >= 100,000 events/s for 30 s', b100.eventsPerSec >= 100_000 && b100.seconds >= 30 && b100.failed === 0],
    ['batches of 100: p99 < 100 ms', b100.p99 < 100],
    ['batches of 100: >= 40% of raw limit', b100.eventsPerSec >= 0.4 * raw.eventsPerSec],
    ['single events: >= 10,000 requests/s', b1.reqPerSec >= 10_000],
    ['ingest RSS < 200 MB', peakRss < 200 * 1e6 / 2 ** 20],
    ['bytes per stored event < 120', grouped.bytesPerEvent.bytes < 120],
  ];
  console.log('\ntargets');
  for (const [name, ok] of checks) console.log(`  ${ok ? 'MET   ' : 'MISSED'} ${name}`);
}
