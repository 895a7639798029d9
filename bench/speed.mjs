// Speed of both stacks in one run (issue 14): ingest as `npm start` runs it (the starters' Node flags and malloc
// settings, bench/lib/service.mjs; LITESTREAM unset: its own
// checkpointer) and as `npm run start:replicated` runs it (under `litestream replicate -exec`, LITESTREAM=true,
// the repository's litestream.yml), each with batches of 100 and single events, one device per request.
// Baselines in the same run: the raw limit of the schema (ingest.mjs's rawLimit) and a bare node:http server
// that only parses the body, driven by the same load generator (wrk when installed, else autocannon).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawLimit } from './ingest.mjs';
import { APPS, appPackage } from './lib/events.mjs';
import { load } from './lib/load.mjs';
import { cpuSeconds, DATABASES, databasePath, MALLOC_ENV, migrateUp, NODE_FLAGS, openDatabase, ROOT, seedPortal, startIngest } from './lib/service.mjs';
import { readdirSync, readFileSync } from 'node:fs';
import { hasWrk, wrkLoad } from './lib/wrk.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
/** SPEED_SECONDS overrides both cases' length (trials); SPEED_STACKS=replicated|plain runs one stack (no baselines). */
const SECONDS = Number(process.env.SPEED_SECONDS) || undefined;
const BATCH = { batch: 100, connections: 32, seconds: SECONDS ?? (QUICK ? 5 : 15) };
const SINGLE = { batch: 1, connections: 128, seconds: SECONDS ?? (QUICK ? 5 : 10) };
/**
 * Rounds per stack, in the order A B B A (A B for one): on a machine shared with other work the load changes
 * within minutes, and alternating spreads it over both stacks. Figures are the rounds' means.
 */
const ROUNDS = Number(process.env.SPEED_ROUNDS) || 2;
const ONLY = process.env.SPEED_STACKS;
const WARMUP_SECONDS = 3;
const WAL_SAMPLE_MS = 100;

const { litestreamBinary, DEFAULT_LITESTREAM_CONFIG, LITESTREAM_ENV } = await import(`${ROOT}packages/ops/dist/litestream.js`);
const WRK = hasWrk();
const drive = (url, c) => (WRK ? wrkLoad(url, c) : load(url, c));

/** A fresh data directory: portal.db with the bench apps, telemetry.db migrated (Litestream needs it to exist). */
async function dataDir() {
  const dir = mkdtempSync(join(tmpdir(), 'mosis-bench-speed-'));
  await seedPortal(dir, Array.from({ length: APPS }, (_, i) => appPackage(i)));
  const db = openDatabase(databasePath(dir, 'telemetry'));
  await migrateUp(db, DATABASES.telemetry.migrations);
  db.close();
  return dir;
}

/** Ingest under `litestream replicate -exec`, as `ops replicate` runs it; resolves once /readyz answers. */
async function startReplicated(dir) {
  const { freePort } = await import(`${ROOT}packages/shared/dist/index.js`);
  const port = await freePort();
  const exec = [process.execPath, ...NODE_FLAGS, `${ROOT}packages/ingest/dist/main.js`].map((a) => `'${a}'`).join(' ');
  const child = spawn(litestreamBinary(), ['replicate', '-config', process.env.LITESTREAM_CONFIG || DEFAULT_LITESTREAM_CONFIG, '-exec', exec], {
    // As `ops replicate` starts it: Litestream's GOMEMLIMIT, the services' malloc settings.
    env: { ...MALLOC_ENV, ...LITESTREAM_ENV, ...process.env, DATA_DIR: dir, BACKUP_DIR: join(dir, 'backups'), LITESTREAM: 'true', INGEST_PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {}
    if (i > 300) throw new Error('replicated ingest did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, pid: childOf(child.pid), litestreamPid: child.pid, stop: () => (child.kill('SIGTERM'), exited) };
}

/** The process `pid` started (Litestream's -exec child: ingest), from /proc's children lists of its threads. */
function childOf(pid) {
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const kids = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (kids) return Number(kids.split(' ')[0]);
  }
  throw new Error(`no child of ${pid}`);
}

/** Samples the size of telemetry.db's WAL file; returns the peak in bytes when stopped. */
function watchWal(dir) {
  const path = `${databasePath(dir, 'telemetry')}-wal`;
  let peak = 0;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, statSync(path).size);
    } catch {}
  }, WAL_SAMPLE_MS);
  return () => (clearInterval(timer), peak);
}

/** How long a catch-up may take before the bench gives up on it (the batch case stores about 1.5M rows). */
const CATCH_UP_LIMIT_MS = 180_000;

/**
 * Waits until the rollup has folded every stored row (ingest_rollup_pending_rows at 0); returns how long
 * that took, in seconds.
 */
async function rolledUp(url) {
  const start = performance.now();
  for (;;) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = /^ingest_rollup_pending_rows(?:\{[^}]*\})? (\S+)$/m.exec(text);
    if (m && Number(m[1]) <= 0) return (performance.now() - start) / 1000;
    if (performance.now() - start > CATCH_UP_LIMIT_MS) throw new Error(`the rollup did not catch up in ${CATCH_UP_LIMIT_MS / 1000} s (pending: ${m?.[1]})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * One stack: batch-100 then single events, each after a warm-up, the single events once the rollup has folded
 * the batch case's rows; checks every acknowledged event is stored.
 */
async function runStack(label, start) {
  const dir = await dataDir();
  try {
    const svc = await start(dir);
    const out = { label };
    let acked = 0;
    const stopWal = watchWal(dir);
    try {
      for (const [key, c] of [['batch', BATCH], ['single', SINGLE]]) {
        // The previous case's rows are folded first: else its rollup (every 20 s) runs in this case's window.
        if (key !== 'batch') {
          out.catchUpSec = await rolledUp(svc.url);
          process.stdout.write(`  ${label}: the rollup folded the batch case's rows ${fmt(out.catchUpSec, 1)} s after it ended\n`);
        }
        const warm = await drive(svc.url, { ...c, seconds: WARMUP_SECONDS });
        acked += (warm.requests - warm.non2xx) * c.batch;
        const cpu0 = [cpuSeconds(svc.pid), svc.litestreamPid ? cpuSeconds(svc.litestreamPid) : 0];
        const r = await drive(svc.url, c);
        // CPU % of one core, ingest's and Litestream's: what the stacks spend, whatever else the machine runs.
        const cpu = [cpuSeconds(svc.pid) - cpu0[0], svc.litestreamPid ? cpuSeconds(svc.litestreamPid) - cpu0[1] : 0].map((x) => (100 * x) / r.durationSec);
        acked += (r.requests - r.non2xx) * c.batch;
        const ok = r.requests - r.non2xx;
        out[key] = { perSec: (ok * c.batch) / r.durationSec, reqPerSec: ok / r.durationSec, p50: r.p50, p99: r.p99, max: r.max, failed: r.non2xx + r.errors + r.timeouts, load: loadavg()[0], ingestCpu: cpu[0], litestreamCpu: cpu[1] };
        process.stdout.write(
          `  ${label} batch ${c.batch}: ${fmt(out[key].reqPerSec)} req/s, ${fmt(out[key].perSec)} events/s, p99 ${fmt(r.p99, 1)} ms, ` +
            `CPU ingest ${fmt(cpu[0])}%${svc.litestreamPid ? `, litestream ${fmt(cpu[1])}%` : ''}, load ${out[key].load.toFixed(2)}\n`,
        );
      }
    } finally {
      out.walPeakMiB = stopWal() / 2 ** 20;
      await svc.stop();
    }
    const db = openDatabase(databasePath(dir, 'telemetry'), { readonly: true });
    try {
      out.stored = db.prepare('SELECT count(*) AS n FROM telemetry_events').get().n;
    } finally {
      db.close();
    }
    // Requests still in flight when the generator stops may be stored without being counted: stored >= acked.
    out.acked = acked;
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bare node:http server (lib/bare-http.mjs) under the single-event load. */
async function bareHttp() {
  const child = spawn(process.execPath, [new URL('./lib/bare-http.mjs', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  const url = `http://127.0.0.1:${port}`;
  try {
    await drive(url, { ...SINGLE, seconds: WARMUP_SECONDS });
    const r = await drive(url, SINGLE);
    return { reqPerSec: (r.requests - r.non2xx) / r.durationSec, p99: r.p99, load: loadavg()[0] };
  } finally {
    child.kill('SIGTERM');
  }
}

/** The rounds of one stack as one: means of rates and p99s, the highest WAL, whether every round stored all it acknowledged. */
function combine(rs) {
  const mean = (f) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  const part = (key) => ({
    perSec: mean((r) => r[key].perSec),
    reqPerSec: mean((r) => r[key].reqPerSec),
    p99: mean((r) => r[key].p99),
    failed: rs.reduce((a, r) => a + r[key].failed, 0),
    load: mean((r) => r[key].load),
    ingestCpu: mean((r) => r[key].ingestCpu),
    litestreamCpu: mean((r) => r[key].litestreamCpu),
  });
  const ok = rs.every((r) => r.stored >= r.acked);
  return { label: rs[0].label, batch: part('batch'), single: part('single'), walPeakMiB: Math.max(...rs.map((r) => r.walPeakMiB)), allStored: ok, storedTotal: rs.reduce((a, r) => a + r.stored, 0), ackedTotal: rs.reduce((a, r) => a + r.acked, 0) };
}

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');
const ratio = (a, b) => fmt(a / b, 2);

export async function run() {
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (${(await import('node:os')).cpus().length} cores); load generator: ${WRK ? 'wrk' : 'autocannon'}; ingest's Node flags: ${NODE_FLAGS.join(' ')}`);
  if (ONLY) {
    const s = ONLY === 'plain' ? await runStack('npm start', (dir) => startIngest(dir)) : await runStack('npm run start:replicated', startReplicated);
    console.log(JSON.stringify(s));
    return;
  }
  const rounds = { plain: [], replicated: [] };
  const runs = { plain: () => runStack('npm start', (dir) => startIngest(dir)), replicated: () => runStack('npm run start:replicated', startReplicated) };
  for (let r = 0; r < ROUNDS; r++) for (const k of r % 2 === 0 ? ['plain', 'replicated'] : ['replicated', 'plain']) rounds[k].push(await runs[k]());
  const plain = combine(rounds.plain);
  const replicated = combine(rounds.replicated);
  process.stdout.write('  bare node:http...\n');
  const bare = await bareHttp();
  process.stdout.write('  raw better-sqlite3 limit...\n');
  const raw = await rawLimit();
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  console.log(`\nmeans of ${ROUNDS} rounds per stack (A B B A order); batch-100 ${BATCH.seconds} s, single events ${SINGLE.seconds} s per round`);
  console.log('| stack | batch-100 events/s | p99 | single-event req/s | p99 | WAL peak | stored >= acked | load |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const s of [plain, replicated]) {
    console.log(
      `| \`${s.label}\` | ${fmt(s.batch.perSec)} | ${fmt(s.batch.p99, 1)} ms | ${fmt(s.single.reqPerSec)} | ${fmt(s.single.p99, 1)} ms | ` +
        `${fmt(s.walPeakMiB, 1)} MiB | ${s.allStored ? 'yes' : 'NO'} (${fmt(s.storedTotal)} / ${fmt(s.ackedTotal)}) | ${s.batch.load.toFixed(2)}, ${s.single.load.toFixed(2)} |`,
    );
  }
  console.log(`| raw limit (better-sqlite3, 1000-row transactions) | ${fmt(raw.eventsPerSec)} | | | | | | |`);
  console.log(`| bare node:http (parses the body) | | | ${fmt(bare.reqPerSec)} | ${fmt(bare.p99, 1)} ms | | | ${bare.load.toFixed(2)} |`);
  console.log(
    `CPU (% of one core, means): ${[plain, replicated]
      .map((s) => `${s.label}: batch-100 ingest ${fmt(s.batch.ingestCpu)}%${s === replicated ? ` + litestream ${fmt(s.batch.litestreamCpu)}%` : ''}, single ingest ${fmt(s.single.ingestCpu)}%${s === replicated ? ` + litestream ${fmt(s.single.litestreamCpu)}%` : ''}`)
      .join('; ')}`,
  );
  const failed = [plain, replicated].flatMap((s) => [s.batch.failed, s.single.failed]);
  if (failed.some((n) => n > 0)) console.log(`failed requests (non-2xx, errors, timeouts): ${failed.join(', ')}`);

  const checks = [
    [`replicated batch-100 throughput >= 0.9x unreplicated (${ratio(replicated.batch.perSec, plain.batch.perSec)}x)`, replicated.batch.perSec >= 0.9 * plain.batch.perSec],
    [`replicated batch-100 p99 <= 2x unreplicated (${ratio(replicated.batch.p99, plain.batch.p99)}x)`, replicated.batch.p99 <= 2 * plain.batch.p99],
    [`replicated single-event throughput >= 0.9x unreplicated (${ratio(replicated.single.reqPerSec, plain.single.reqPerSec)}x)`, replicated.single.reqPerSec >= 0.9 * plain.single.reqPerSec],
    [`replicated single-event p99 <= 2x unreplicated (${ratio(replicated.single.p99, plain.single.p99)}x)`, replicated.single.p99 <= 2 * plain.single.p99],
    [`batch-100 >= 0.8x the raw limit (${ratio(plain.batch.perSec, raw.eventsPerSec)}x unreplicated, ${ratio(replicated.batch.perSec, raw.eventsPerSec)}x replicated)`, plain.batch.perSec >= 0.8 * raw.eventsPerSec],
    [`single events >= 0.5x bare node:http (${ratio(plain.single.reqPerSec, bare.reqPerSec)}x unreplicated, ${ratio(replicated.single.reqPerSec, bare.reqPerSec)}x replicated)`, plain.single.reqPerSec >= 0.5 * bare.reqPerSec],
    ['every acknowledged event stored (both stacks)', plain.allStored && replicated.allStored],
  ];
  console.log('\ntargets (same run)');
  for (const [name, ok] of checks) console.log(`  ${ok ? 'MET   ' : 'MISSED'} ${name}`);
}
