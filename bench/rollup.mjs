// Rollup, aggregate reads and retention benchmark over 10M raw events (BENCH_QUICK=1: 1M):
//  1. rollup: rows folded per second by the first run over every row (what upgrading to the incremental
//     rollup does), worker-thread reads; the longest write transaction it held (what a commit can wait);
//  2. disk: bytes per raw event of the aggregate tables (dbstat);
//  3. reads: p50/p99 of every aggregate read over 90 days, in-process through SqliteAggregateReads on a
//     read-only connection with the 10M raw rows present;
//  4. freshness: the ingest service under the ingest bench's sustained load, rollup off and rollup every
//     20 s (the default), same run: throughput and p99 of both and their ratio;
//  5. retention: prune of the oldest month (drop) and the boundary month (chunked trim), longest transaction.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { APPS, appPackage, DEVICES } from './lib/events.mjs';
import { load } from './lib/load.mjs';
import { cpuSeconds, DATABASES, databasePath, migrateUp, openDatabase, ROOT, seedPortal, startIngest } from './lib/service.mjs';

const ingestPkg = await import(`${ROOT}packages/ingest/dist/index.js`);
const { SqliteAggregateReads } = await import(`${ROOT}packages/ingest/dist/store/sqlite/aggregate-reads.js`);

const QUICK = process.env.BENCH_QUICK === '1';
const EVENTS = Number(process.env.BENCH_ROLLUP_EVENTS ?? (QUICK ? 1_000_000 : 10_000_000));
const EVENTS_DEFAULT = EVENTS;
const CRASHES = Math.round(EVENTS / 100);
const DAYS = 90;
const DAY_MS = 86_400_000;
const INSERT_TX_ROWS = 200_000;
/** Runs per read; the raw-row breakdown (data.KEY) scans an app's 90 days, so it runs fewer times. */
const QUERY_RUNS = QUICK ? 100 : 300;
const RAW_QUERY_RUNS = QUICK ? 10 : 30;
/** The ingest bench's sustained case (batches of 100, 32 connections), long enough for three scheduled runs. */
const LOAD = { batch: 100, connections: 32, seconds: QUICK ? 25 : 60 };
const WARMUP_SECONDS = 2;
const EVENT_TYPES = ['app_open', 'app_close', 'screen_view', 'button_tap', 'purchase', 'level_up', 'session_start', 'error'];
const MOSIS_VERSIONS = ['1.4.2', '1.5.0', '1.6.1'];
const APP_VERSIONS = ['2.0.0', '2.1.0', '2.2.0', null];
const SCREENS = ['home', 'settings', 'store', 'game', 'profile'];
/** The aggregate tables (WITHOUT ROWID: each is its own b-tree, no separate index). */
const AGGREGATES = ['telemetry_daily', 'telemetry_daily_dims', 'device_days', 'crash_daily', 'crash_daily_devices', 'rollup_positions'];

const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const load1 = () => loadavg()[0].toFixed(2);

/**
 * 10M events (or `EVENTS`; bench/pg.mjs fills the same on PostgreSQL) over the last 90 days in timestamp order (as devices send them), 20 apps, 5,000 devices
 * (250 per app), 8 types, 3 Mosis versions, 4 app versions (one "not sent"), a `screen` in data; and a
 * crash per 100 events (30 fingerprints).
 */
export function generate(db, now, EVENTS = EVENTS_DEFAULT) {
  const start = now - DAYS * DAY_MS;
  const step = (DAYS * DAY_MS) / EVENTS;
  db.exec(`INSERT INTO dim_event_types (name) VALUES ${EVENT_TYPES.map((t) => `('${t}')`).join(',')}`);
  const addApp = db.prepare('INSERT INTO dim_apps (app_id, package_id) VALUES (?, ?)');
  for (let a = 0; a < APPS; a++) addApp.run(`bench-app-${a}`, appPackage(a));
  // Device ids as ingest stores them: the first 64 bits of an HMAC.
  const secret = 'bench-secret-bench-secret-bench-secret';
  const hash = Array.from({ length: DEVICES }, (_, d) => createHmac('sha256', secret).update(`bench-device-${d}`).digest().readBigInt64BE(0));
  const inserts = new Map();
  const insertFor = (kind, ts) => {
    const month = new Date(ts).toISOString().slice(0, 7);
    const key = `${kind}|${month}`;
    let ins = inserts.get(key);
    if (!ins) {
      const part = ingestPkg.ensurePartition(db, kind, month);
      // Event partitions get app_version from migration 0005 (raw reads); added here until it is merged.
      if (kind === 'events' && !db.prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = 'app_version'").get(part)) db.exec(`ALTER TABLE ${part} ADD COLUMN app_version TEXT`);
      ins = db.prepare(
        kind === 'events'
          ? `INSERT INTO ${part} (app_id, device_id, event_type, timestamp, mosis_version, app_version, event_data) VALUES (?, ?, ?, ?, ?, ?, ?)`
          : `INSERT INTO ${part} (app_id, device_id, timestamp, fingerprint, crash_type, app_version, message, created_at) VALUES (?, ?, ?, ?, 'native_signal', ?, 'SIGSEGV', ?)`,
      );
      inserts.set(key, ins);
    }
    return ins;
  };
  let i = 0;
  while (i < EVENTS) {
    db.transaction(() => {
      for (const end = Math.min(EVENTS, i + INSERT_TX_ROWS); i < end; i++) {
        const ts = Math.floor(start + i * step);
        const device = (i * 7919) % DEVICES;
        const app = (device % APPS) + 1;
        const day = Math.floor(ts / DAY_MS);
        insertFor('events', ts).run(app, hash[device], (i % EVENT_TYPES.length) + 1, ts, MOSIS_VERSIONS[device % 3], APP_VERSIONS[(device + day) % 4], `{"screen":"${SCREENS[i % 5]}"}`);
        if (i % 100 === 0) insertFor('crashes', ts).run(app, hash[device], ts, `fp-${(i / 100) % 30}`, APP_VERSIONS[device % 3], ts);
      }
    })();
  }
}

/** Wraps every write transaction of a job to time it. */
function timedGate(samples) {
  return async (fn) => {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      samples.push(performance.now() - t0);
    }
  };
}

/** `n tx, p99 x ms, max y ms`. */
function describeWrites(ms) {
  ms.sort((a, b) => a - b);
  return `${fmt(ms.length)} tx, p99 ${fmt(pct(ms, 99), 1)} ms, max ${fmt(ms.at(-1) ?? 0, 1)} ms`;
}

const waiting = (db) => ingestPkg.rowsWaiting(db).reduce((s, p) => s + p.waiting, 0);

/** p50/p99 of `runs` calls of `fn`. */
async function timeRead(runs, fn) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: pct(times, 50), p99: pct(times, 99) };
}

/**
 * The ingest service on a fresh DATA_DIR under LOAD, with the rollup on `schedule`. Every second: the rows
 * stored but not folded yet (how far the aggregates trail), and each finished rollup run (job_runs).
 */
async function ingestUnder(schedule) {
  const dir = mkdtempSync(join(tmpdir(), 'mosis-bench-fresh-'));
  try {
    await seedPortal(dir, Array.from({ length: APPS }, (_, i) => appPackage(i)));
    const svc = await startIngest(dir, { ROLLUP_SCHEDULE: schedule, PRUNE_SCHEDULE: '0 0 1 1 *' });
    const db = openDatabase(databasePath(dir, 'telemetry'), { readonly: true });
    try {
      await load(svc.url, { ...LOAD, seconds: WARMUP_SECONDS });
      let maxWaiting = 0;
      const runs = new Map();
      const sample = () => {
        maxWaiting = Math.max(maxWaiting, waiting(db));
        const run = db.prepare("SELECT started_at, finished_at, summary FROM job_runs WHERE job = 'rollup' AND ok = 1").get();
        if (run) runs.set(run.started_at, { seconds: (run.finished_at - run.started_at) / 1000, rows: JSON.parse(run.summary).rows });
      };
      const timer = setInterval(sample, 1_000);
      const cpu0 = cpuSeconds(svc.pid);
      const r = await load(svc.url, LOAD);
      // The service's CPU per stored event (all its threads): what the rollup adds holds however busy the box is.
      const cpuUsPerEvent = (1e6 * (cpuSeconds(svc.pid) - cpu0)) / Math.max(1, (r.requests - r.non2xx) * LOAD.batch);
      clearInterval(timer);
      sample();
      return { r, cpuUsPerEvent, maxWaiting, runs: [...runs.values()].filter((x) => x.rows > 0) };
    } finally {
      db.close();
      await svc.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run() {
  console.log(`load average at start: ${load1()} (${cpus().length} cores)`);
  const dir = mkdtempSync(join(tmpdir(), 'mosis-bench-rollup-'));
  try {
    const now = Date.now();
    await seedPortal(dir, Array.from({ length: APPS }, (_, i) => appPackage(i)));
    const db = openDatabase(databasePath(dir, 'telemetry'));
    await migrateUp(db, DATABASES.telemetry.migrations);

    let t0 = performance.now();
    generate(db, now);
    const genSec = (performance.now() - t0) / 1000;
    db.pragma('wal_checkpoint(TRUNCATE)');
    console.log(`generated ${fmt(EVENTS)} events and ${fmt(CRASHES)} crashes in ${fmt(genSec, 1)} s; telemetry.db ${fmt(statSync(db.name).size / 2 ** 20)} MiB`);

    // 1. The first run over every row, on the reader thread flat out (as ops runs it).
    const writes = [];
    const reader = ingestPkg.createWorkerReader(db.name);
    t0 = performance.now();
    const stats = await ingestPkg.rollup({ db, reader, now: () => now, exclusive: timedGate(writes) });
    const rollSec = (performance.now() - t0) / 1000;
    await reader.close();
    console.log(
      `rollup: ${fmt(stats.rows)} rows in ${fmt(stats.steps)} steps, ${fmt(stats.closedDays)} app-days closed, in ${fmt(rollSec, 1)} s = ` +
        `${fmt(stats.rows / rollSec)} rows/s; writes: ${describeWrites(writes)}; rows waiting after: ${waiting(db)}`,
    );

    // 2. Disk of the aggregates per raw event.
    db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = db.prepare(`SELECT name, sum(pgsize) AS b FROM dbstat WHERE name IN (${AGGREGATES.map(() => '?').join(',')}) GROUP BY name`).all(...AGGREGATES);
    const total = bytes.reduce((s, r) => s + r.b, 0);
    const parts = bytes.map((r) => `${r.name} ${fmt(r.b / 2 ** 20, 1)} MiB`).join(', ');
    console.log(`disk: aggregates ${fmt(total / 2 ** 20, 1)} MiB = ${fmt(total / EVENTS, 2)} bytes per event (${parts})`);

    // 3. Every aggregate read over 90 days of one app (5% of the events), read-only connection.
    const ro = openDatabase(db.name, { readonly: true });
    const reads = new SqliteAggregateReads(() => ro);
    const q = { appId: 'bench-app-0', from: new Date(now - (DAYS - 1) * DAY_MS).toISOString().slice(0, 10), to: new Date(now).toISOString().slice(0, 10) };
    const cases = [
      ['dailyCounts', QUERY_RUNS, () => reads.dailyCounts(q)],
      ['eventTypeCount (cap 444)', QUERY_RUNS, () => reads.eventTypeCount({ ...q, cap: 444 })],
      ['activeDevices day', QUERY_RUNS, () => reads.activeDevices({ ...q, interval: 'day' })],
      ['activeDevices week', QUERY_RUNS, () => reads.activeDevices({ ...q, interval: 'week' })],
      ['activeDevices month', QUERY_RUNS, () => reads.activeDevices({ ...q, interval: 'month' })],
      ['breakdown event_type', QUERY_RUNS, () => reads.breakdown({ ...q, by: { kind: 'event_type' }, limit: 10 })],
      ['breakdown mosis_version', QUERY_RUNS, () => reads.breakdown({ ...q, by: { kind: 'mosis_version' }, limit: 10 })],
      ['breakdown app_version', QUERY_RUNS, () => reads.breakdown({ ...q, by: { kind: 'app_version' }, limit: 10 })],
      ['breakdown data.screen (raw rows)', RAW_QUERY_RUNS, () => reads.breakdown({ ...q, by: { kind: 'data', key: 'screen' }, limit: 10 })],
      ['breakdown app_version of one type (raw rows)', RAW_QUERY_RUNS, () => reads.breakdown({ ...q, by: { kind: 'app_version' }, eventType: 'purchase', limit: 10 })],
      ['summary', QUERY_RUNS, () => reads.summary({ ...q, topEventTypes: 5 })],
      ['crashGroups', QUERY_RUNS, () => reads.crashGroups({ ...q, limit: 100 })],
    ];
    const appEvents = ro.prepare("SELECT sum(count) AS n FROM telemetry_daily WHERE app_id = 'bench-app-0'").get().n;
    console.log(`reads: ${q.appId}, ${q.from} .. ${q.to} (${fmt(appEvents)} events, ${DEVICES / APPS} devices), in-process:`);
    for (const [name, runs, fn] of cases) {
      const t = await timeRead(runs, fn);
      console.log(`  ${name.padEnd(46)} p50 ${fmt(t.p50, 2).padStart(8)} ms  p99 ${fmt(t.p99, 2).padStart(8)} ms  (${runs} runs)`);
    }
    ro.close();
    await rawReadFigures(db, now);
    db.close();

    // 4. What freshness costs ingest: the same load, rollup off, then every 20 s (the default).
    const off = await ingestUnder('0 0 1 1 *');
    const on = await ingestUnder(ingestPkg.DEFAULT_ROLLUP_SCHEDULE);
    const line = (label, x) => {
      const ok = x.r.requests - x.r.non2xx;
      return `  ${label}: ${fmt((ok * LOAD.batch) / x.r.durationSec)} events/s, p50 ${x.r.p50} ms, p99 ${x.r.p99} ms, max ${x.r.max} ms, ${fmt(x.cpuUsPerEvent, 2)} CPU us/event, non-2xx ${x.r.non2xx}`;
    };
    console.log(`ingest, batches of ${LOAD.batch}, ${LOAD.connections} connections, ${LOAD.seconds} s, fresh DATA_DIR each (load average ${load1()}):`);
    console.log(line('rollup off         ', off));
    console.log(line(`rollup ${ingestPkg.DEFAULT_ROLLUP_SCHEDULE}`, on));
    const eventsPerSec = ((on.r.requests - on.r.non2xx) * LOAD.batch) / on.r.durationSec;
    const folded = on.runs.reduce((s, x) => s + x.rows, 0);
    const busy = on.runs.reduce((s, x) => s + x.seconds, 0);
    console.log(
      `  rollup runs under load: ${on.runs.length}, ${fmt(folded / Math.max(busy, 0.001))} rows/s while running (${on.runs.map((x) => `${fmt(x.rows)} rows in ${fmt(x.seconds, 1)} s`).join(', ')}); ` +
        `aggregates trailed by at most ${fmt(on.maxWaiting)} rows = ${fmt(on.maxWaiting / eventsPerSec, 1)} s of ingest`,
    );
    const rate = (x) => (x.r.requests - x.r.non2xx) / x.r.durationSec;
    console.log(`  ratio on/off: throughput ${fmt(rate(on) / rate(off), 2)}, p99 ${fmt(on.r.p99 / Math.max(1, off.r.p99), 2)}, CPU per event ${fmt(on.cpuUsPerEvent / off.cpuUsPerEvent, 2)}`);

    // 5. Retention: a clock 40 days ahead drops the oldest month and trims the boundary month.
    const pdb = openDatabase(databasePath(dir, 'telemetry'));
    const preader = ingestPkg.createWorkerReader(pdb.name);
    const pwrites = [];
    t0 = performance.now();
    const pr = await ingestPkg.prune({ db: pdb, reader: preader, retentionDays: 90, now: () => now + 40 * DAY_MS, exclusive: timedGate(pwrites) });
    const pruneSec = (performance.now() - t0) / 1000;
    const dropped = pr.dropped.reduce((s, d) => s + d.rows, 0);
    const trimmed = pr.trimmed.reduce((s, d) => s + d.rows, 0);
    console.log(
      `prune: dropped ${pr.dropped.length} partition(s) (${fmt(dropped)} rows), trimmed ${fmt(trimmed)} rows, vacuumed ${fmt(pr.vacuumedPages)} pages in ${fmt(pruneSec, 1)} s; ` +
        `file ${fmt(pr.fileBytesBefore / 2 ** 20)} -> ${fmt(pr.fileBytesAfter / 2 ** 20)} MiB; writes: ${describeWrites(pwrites)}`,
    );
    await preader.close();
    pdb.close();
    console.log(`load average at end: ${load1()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * 2b. Raw events and the live tail through SqliteTelemetryReads (what the core API's /events calls), on the
 * 10M-event database: newest-first pages with and without device / event_type filters, first and deep, and a
 * tail 20,000+ stored rows behind its position and one caught up. Target: p99 under 50 ms. Adds one device
 * with a known raw id (2,000 events over 90 days, as many as any device) and 20,000 new rows after a head.
 */
async function rawReadFigures(db, now) {
  const { createHmac } = await import('node:crypto');
  const SECRET = 'bench-device-hash-secret-0123456789';
  const RUNS = QUICK ? 100 : 300;
  const reads = ingestPkg.openSqliteTelemetryReads({ path: db.name, deviceSecret: SECRET, retentionDays: DAYS, now: () => now });
  const appId = 'bench-app-0';
  const listing = { appId, fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, limit: 100 };
  const { head } = await reads.events({ ...listing, limit: 1 });
  const device = createHmac('sha256', SECRET).update('bench-known-device').digest().readBigInt64BE(0);
  db.transaction(() => {
    const ins = new Map();
    const insert = (ts, dev, app) => {
      const part = ingestPkg.ensurePartition(db, 'events', new Date(ts).toISOString().slice(0, 7));
      if (!ins.has(part)) ins.set(part, db.prepare(`INSERT INTO ${part} (app_id, device_id, event_type, timestamp, event_data, received_at) VALUES (?, ?, ?, ?, '{"screen":"home"}', ?)`));
      ins.get(part).run(app, dev, 1 + (Math.abs(Number(dev % 8n)) % EVENT_TYPES.length), ts, now);
    };
    for (let i = 0; i < 2_000; i++) insert(now - Math.floor(((i + 0.5) / 2_000) * (DAYS - 1) * DAY_MS), device, 1);
    for (let i = 0; i < 20_000; i++) insert(now - (i % 60_000), BigInt(i % DEVICES), (i % APPS) + 1);
  })();
  const time = async (label, fn) => {
    const ms = [];
    let n = 0;
    for (let i = 0; i < RUNS; i++) {
      const q0 = performance.now();
      n = (await fn()).items.length;
      ms.push(performance.now() - q0);
    }
    ms.sort((a, b) => a - b);
    return { label, n, p50: pct(ms, 50), p99: pct(ms, 99) };
  };
  /** The cursor `pages` pages of 100 in, as a client paging that far holds it. */
  const deep = async (q, pages) => {
    let cursor;
    for (let p = 0; p < pages; p++) cursor = (await reads.events({ ...q, cursor })).next_cursor ?? undefined;
    return cursor;
  };
  const byDevice = { ...listing, deviceId: 'bench-known-device' };
  const byType = { ...listing, eventType: 'purchase' };
  const [deepAll, deepDevice, deepType] = [await deep(listing, 100), await deep(byDevice, 10), await deep(byType, 50)];
  const results = [
    await time('first page', () => reads.events(listing)),
    await time('page 100 (10,000 events in)', () => reads.events({ ...listing, cursor: deepAll })),
    await time('device, first page', () => reads.events(byDevice)),
    await time('device, page 10 (1,000 in)', () => reads.events({ ...byDevice, cursor: deepDevice })),
    await time('event_type, first page', () => reads.events(byType)),
    await time('event_type, page 50 (5,000 in)', () => reads.events({ ...byType, cursor: deepType })),
    await time('tail 22,000 rows behind', () => reads.tail({ appId, after: head, limit: 100 })),
  ];
  const { head: now2 } = await reads.events({ ...listing, limit: 1 });
  results.push(await time('tail caught up', () => reads.tail({ appId, after: now2, limit: 100 })));
  await reads.close();
  const worst = Math.max(...results.map((r) => r.p99));
  console.log(
    `raw events (SqliteTelemetryReads, ${RUNS} runs each, limit 100): ` +
      results.map((r) => `${r.label} (${r.n} items) p50 ${fmt(r.p50, 2)} ms p99 ${fmt(r.p99, 2)} ms`).join('; ') +
      `; ${worst < 50 ? 'MET' : 'MISSED'}: p99 under 50 ms (worst ${fmt(worst, 2)} ms)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
