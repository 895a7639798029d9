#!/usr/bin/env node
// `npm run measure:memory`: what the stack holds in memory at rest, per process, measured from /proc.
//
// For each stack it starts it on an empty data directory (or volume), waits until both services are ready
// and then SETTLE_S more, and samples RSS (and PSS, from /proc/<pid>/smaps_rollup) and threads of every
// process of the stack: "at start-up". Then a burst of load: a developer registers, creates an app and
// calls the core API (apps, analytics, catalog, audit log, /docs, /openapi.json, /metrics on both) while
// devices send LOAD_EVENTS_PER_S events in batches for LOAD_S; sampled every second ("peak under load").
// Then IDLE_S without a request, and a last sample: "after load, idle". Last, SIGTERM: the stack must exit 0.
//
// Stacks (--stack, comma-separated; default all that can run here):
//   start       what `npm start` runs after its build: node packages/ops/dist/launcher.js (npm's own process,
//               ~60 MiB, is not part of a deployment and is left out)
//   replicated  what `npm run start:replicated` runs: node packages/ops/dist/cli.js replicate (that ops
//               process, Litestream under it, and what Litestream runs)
//   image       the Docker image (built first, see scripts/lib/image.mjs), run on two fresh volumes: every
//               process in the container, from the host's /proc. The target is checked here: MET or MISSED
//               against TARGET_MIB of RSS, summed over the container's processes, at rest.
// Options: --load-s N, --idle-s N, --settle-s N, --rate EVENTS_PER_S, --no-build (image: use the one built).
// It needs the built dist/ (npm run build) for `start` and `replicated`. Only Node's standard library.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The issue's target for the whole image at rest. */
const TARGET_MIB = 150;
const MIB = 1024 * 1024;
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;
/** Events per request during the burst, and distinct devices sending them. */
const BATCH_EVENTS = 20;
const DEVICES = 5_000;
const LOAD_WORKERS = 16;

const { values: opts } = parseArgs({
  options: {
    stack: { type: 'string' },
    'load-s': { type: 'string', default: '30' },
    'idle-s': { type: 'string', default: '60' },
    'settle-s': { type: 'string', default: '10' },
    rate: { type: 'string', default: '2000' },
    'no-build': { type: 'boolean', default: false },
  },
});
const LOAD_S = Number(opts['load-s']);
const IDLE_S = Number(opts['idle-s']);
const SETTLE_S = Number(opts['settle-s']);
const LOAD_EVENTS_PER_S = Number(opts.rate);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (line) => console.log(`measure-memory: ${line}`);
const mib = (bytes) => (bytes / MIB).toFixed(1);

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// ---- /proc ---------------------------------------------------------------------------------------------

/** Every process's parent, from /proc/<pid>/stat. */
function parents() {
  const map = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // The name is in parentheses and may hold spaces: the fields after its last ')' are fixed.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      map.set(Number(d), Number(fields[1]));
    } catch {
      // gone meanwhile
    }
  }
  return map;
}

/** `root` and all its descendants. */
function tree(root) {
  const ppid = parents();
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, parent] of ppid) if (parent === out[i]) out.push(pid);
  return out;
}

/** What a process is, for the table: the service name of a Node script, else the executable's name. */
function label(pid) {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const script = argv.slice(1).find((a) => a.endsWith('.js'));
  const exe = argv[0]?.split('/').at(-1) ?? '?';
  if (!script) return argv.length ? `${exe}${argv[1] ? ` ${argv[1]}` : ''}` : exe;
  const rel = script.replace(/^.*\/packages\//, '');
  const name = { 'core-api/dist/main.js': 'core-api', 'ingest/dist/main.js': 'ingest', 'ops/dist/launcher.js': 'launcher' }[rel];
  return name ?? `node ${rel}${argv.includes('replicate') ? ' replicate' : ''}`;
}

/** RSS, PSS (when smaps_rollup is readable) and threads of one process, in bytes; undefined once it is gone. */
function sample(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (re, text) => Number(re.exec(text)?.[1] ?? NaN) * 1024;
    let pss = NaN;
    try {
      pss = kb(/^Pss:\s+(\d+) kB/m, readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    } catch {
      // not readable here
    }
    return {
      pid,
      name: label(pid),
      rss: kb(/^VmRSS:\s+(\d+) kB/m, status),
      // Of RSS: anonymous memory (heaps, stacks) and pages of mapped files (the binary, its libraries).
      anon: kb(/^RssAnon:\s+(\d+) kB/m, status),
      file: kb(/^RssFile:\s+(\d+) kB/m, status),
      pss,
      threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1]),
    };
  } catch {
    return undefined;
  }
}

/** Every live process of the stack under `root`, minus `skip` (e.g. a container's conmon). */
function sampleTree(root, skip = () => false) {
  return tree(root)
    .map(sample)
    .filter((s) => s && s.rss > 0 && !skip(s));
}

const total = (samples, key) => samples.reduce((n, s) => n + s[key], 0);

// ---- load ------------------------------------------------------------------------------------------------

async function call(method, url, body, token, accept) {
  const res = await fetch(url, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}), ...(accept ? { accept } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, body: json };
}

/** A developer and an app to send events for; returns what the burst needs. */
async function setUp(core) {
  const email = `measure-${process.pid}-${Date.now()}@example.com`;
  const reg = await call('POST', `${core}/v1/auth/register`, { email, name: 'Measure', password: 'correct horse battery staple' });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  const pkg = `com.example.measure${process.pid}`;
  const app = await call('POST', `${core}/v1/apps`, { package_id: pkg, name: 'Measure', category: 'tools', tags: ['measure'] }, reg.body.token);
  if (app.status !== 201) throw new Error(`create app: ${app.status} ${JSON.stringify(app.body)}`);
  return { token: reg.body.token, appId: app.body.id, pkg };
}

/** The core API calls a developer makes while looking at the portal (every one must answer below 500). */
async function coreCalls(core, ingest, s) {
  const today = new Date().toISOString().slice(0, 10);
  const weekAgo = new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10);
  const calls = [
    ['GET', `${core}/v1/me`],
    ['GET', `${core}/v1/apps`],
    ['GET', `${core}/v1/apps/${s.appId}`],
    ['GET', `${core}/v1/apps/${s.appId}/analytics/daily?from=${weekAgo}&to=${today}`],
    ['GET', `${core}/v1/apps/${s.appId}/analytics/summary?from=${weekAgo}&to=${today}`],
    ['GET', `${core}/v1/apps/${s.appId}/analytics/active-devices?from=${weekAgo}&to=${today}&interval=day`],
    ['GET', `${core}/v1/apps/${s.appId}/analytics/breakdown?by=event_type&from=${weekAgo}&to=${today}`],
    ['GET', `${core}/v1/apps/${s.appId}/events?limit=50`],
    ['GET', `${core}/v1/catalog/apps?q=measure`],
    ['GET', `${core}/v1/audit-logs`],
    ['GET', `${core}/openapi.json`],
    ['GET', `${core}/docs`],
    ['GET', `${core}/metrics`],
    ['GET', `${ingest}/openapi.json`],
    ['GET', `${ingest}/docs`],
    ['GET', `${ingest}/metrics`],
  ];
  for (const [method, url] of calls) {
    const res = await call(method, url, undefined, s.token);
    if (res.status >= 500) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return calls.length;
}

/** Devices sending LOAD_EVENTS_PER_S for LOAD_S, at an even pace; returns what they sent and got back. */
async function ingestBurst(ingest, pkg) {
  const perSecond = LOAD_EVENTS_PER_S / BATCH_EVENTS;
  const t0 = performance.now();
  const end = t0 + LOAD_S * 1000;
  const statuses = {};
  let next = 0;
  let events = 0;
  const worker = async () => {
    for (;;) {
      const due = t0 + (next++ / perSecond) * 1000;
      if (due >= end) return;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const now = Date.now();
      const batch = Array.from({ length: BATCH_EVENTS }, (_, i) => ({
        event_id: crypto.randomUUID(),
        app: pkg,
        device_id: `device-${Math.floor(Math.random() * DEVICES)}`,
        event_type: ['app_open', 'screen_view', 'purchase', 'app_close'][i % 4],
        timestamp: new Date(now - Math.floor(Math.random() * 3_600_000)).toISOString(),
        mosis_version: '1.4.2',
        data: { screen: `s${i % 7}`, n: i },
      }));
      try {
        const res = await call('POST', `${ingest}/v1/events`, { sent_at: new Date(now).toISOString(), events: batch });
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status === 202) events += res.body.accepted;
      } catch (err) {
        statuses[err.name] = (statuses[err.name] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: LOAD_WORKERS }, worker));
  return { events, statuses, seconds: (performance.now() - t0) / 1000 };
}

// ---- one stack -------------------------------------------------------------------------------------------

async function waitReady(urls, exited) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (const url of urls) {
    for (;;) {
      if (exited()) throw new Error(`the stack exited before ${url} answered`);
      try {
        if ((await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200) break;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) throw new Error(`${url}/readyz did not answer 200 within ${READY_TIMEOUT_MS / 1000} s`);
      await sleep(250);
    }
  }
}

/**
 * Runs the phases against a started stack: `root` is the pid whose tree is the stack; `stop` ends it and
 * resolves with its exit code.
 */
async function phases(name, { root, core, ingest, stop, skip, exited, extra }) {
  await waitReady([core, ingest], exited);
  await sleep(SETTLE_S * 1000);
  const rows = [];
  const record = (phase, samples) => {
    rows.push({ phase, samples, extra: extra?.() });
    return samples;
  };
  record('at start-up', sampleTree(root, skip));

  const s = await setUp(core);
  let peak = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const now = sampleTree(root, skip);
      if (total(now, 'rss') > total(peak, 'rss')) peak = now;
      await sleep(1_000);
    }
  })();
  let calls = 0;
  const coreLoop = (async () => {
    const end = performance.now() + LOAD_S * 1000;
    while (performance.now() < end) {
      calls += await coreCalls(core, ingest, s);
      await sleep(2_000);
    }
  })();
  const burst = await ingestBurst(ingest, s.pkg);
  await coreLoop;
  sampling = false;
  await sampler;
  record('peak under load', peak);
  say(`${name}: load: ${burst.events} events accepted in ${burst.seconds.toFixed(0)} s (${(burst.events / burst.seconds).toFixed(0)}/s; responses ${JSON.stringify(burst.statuses)}), ${calls} core API calls`);

  await sleep(IDLE_S * 1000);
  record('after load, idle', sampleTree(root, skip));
  const code = await stop();
  return { name, rows, code };
}

function nodeStack(name, script, args) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), `mosis-measure-${name}-`));
    const env = {
      ...process.env,
      DATA_DIR: join(dir, 'data'),
      BACKUP_DIR: join(dir, 'backups'),
      CORE_PORT: String(await freePort()),
      INGEST_PORT: String(await freePort()),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    };
    // As `npm start` runs the launcher: with its Node flags and malloc settings (`ops replicate` adds them itself).
    const { nodeFlags, MALLOC_ENV } = await import(join(ROOT, 'packages/ops/dist/launcher.js'));
    const launcher = script.endsWith('launcher.js');
    const child = spawn(process.execPath, [...(launcher ? nodeFlags() : []), join(ROOT, script), ...args], {
      env: launcher ? { ...MALLOC_ENV, ...env } : env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let code;
    const exited = new Promise((resolve) => child.on('exit', (c, signal) => resolve((code = c ?? signal))));
    try {
      return await phases(name, {
        root: child.pid,
        core: `http://127.0.0.1:${env.CORE_PORT}`,
        ingest: `http://127.0.0.1:${env.INGEST_PORT}`,
        exited: () => code !== undefined,
        stop: async () => {
          child.kill('SIGTERM');
          return Promise.race([exited, sleep(STOP_TIMEOUT_MS).then(() => 'timeout')]);
        },
      });
    } catch (err) {
      throw new Error(`${err.message}\n${out.slice(-4000)}`);
    } finally {
      if (code === undefined) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

async function imageStack() {
  const lib = await import('./lib/image.mjs');
  lib.setLogPrefix('measure-memory');
  const image = process.env.MOSIS_TEST_IMAGE || 'localhost/mosis-portal:measure';
  const base = lib.baseImage();
  lib.probeRuntime(base);
  if (!opts['no-build'] || !lib.imageExists(image)) {
    lib.probeBuild(base);
    await lib.buildImage(base, lib.probeRegistry(base), image);
  }
  const data = lib.volume(`mosis-measure-data-${lib.id}`);
  const backups = lib.volume(`mosis-measure-backups-${lib.id}`);
  const c = await lib.startContainer(`mosis-measure-${lib.id}`, data, backups, image);
  try {
    const pid = Number(lib.inspect(c, '{{.State.Pid}}'));
    const stats = () => {
      const res = lib.engineRun(['stats', '--no-stream', '--format', '{{.MemUsage}}', c.name]);
      return res.code === 0 ? `${lib.engine} stats: ${res.stdout.trim()}` : undefined;
    };
    return await phases('image', {
      root: pid,
      core: c.core,
      ingest: c.ingest,
      exited: () => lib.inspect(c, '{{.State.Running}}') !== 'true',
      extra: stats,
      stop: async () => {
        lib.engineRun(['stop', '-t', String(lib.STOP_LIMIT_S), c.name]);
        return Number(lib.inspect(c, '{{.State.ExitCode}}'));
      },
    });
  } catch (err) {
    throw new Error(`${err.message}\n${lib.logs(c).slice(-4000)}`);
  } finally {
    for (const fn of lib.cleanups.reverse()) fn();
    rmSync(lib.work, { recursive: true, force: true });
  }
}

/** podman, or Docker with a running engine. */
function canRunImage() {
  return spawnSync('podman', ['--version']).status === 0 || spawnSync('docker', ['info']).status === 0;
}

// ---- report ----------------------------------------------------------------------------------------------

function report(results) {
  const line = (cols) => console.log(cols.map((c, i) => (i < 3 ? String(c).padEnd([11, 17, 30][i]) : String(c).padStart(9))).join(' '));
  const m = (v) => (Number.isNaN(v) ? '-' : mib(v));
  console.log('');
  line(['stack', 'phase', 'process', 'RSS MiB', 'anon', 'file', 'PSS MiB', 'threads']);
  for (const r of results) {
    for (const row of r.rows) {
      for (const s of row.samples) line([r.name, row.phase, s.name, mib(s.rss), m(s.anon), m(s.file), m(s.pss), s.threads]);
      line([r.name, row.phase, 'TOTAL', mib(total(row.samples, 'rss')), m(total(row.samples, 'anon')), m(total(row.samples, 'file')), m(total(row.samples, 'pss')), total(row.samples, 'threads')]);
      if (row.extra) console.log(`${''.padEnd(30)}${row.extra}`);
    }
    console.log(`${r.name}: SIGTERM → exit ${r.code}`);
  }
  console.log('');
  console.log(`measured with load ${LOAD_S} s at ${LOAD_EVENTS_PER_S} events/s, idle ${IDLE_S} s; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const r of results) {
    const rest = Math.max(...r.rows.filter((row) => row.phase !== 'peak under load').map((row) => total(row.samples, 'rss')));
    const peak = total(r.rows.find((row) => row.phase === 'peak under load').samples, 'rss');
    const verdict = r.name === 'image' ? ` → ${rest <= TARGET_MIB * MIB ? 'MET' : 'MISSED'} (target: the image at rest ≤ ${TARGET_MIB} MiB RSS)` : '';
    console.log(`${r.name}: at rest ${mib(rest)} MiB RSS (the larger of start-up and after load), under load ${mib(peak)} MiB${verdict}`);
  }
}

// ---- main ------------------------------------------------------------------------------------------------

const STACKS = {
  start: nodeStack('start', 'packages/ops/dist/launcher.js', []),
  replicated: nodeStack('replicated', 'packages/ops/dist/cli.js', ['replicate']),
  image: imageStack,
};

const wanted = opts.stack ? opts.stack.split(',') : ['start', 'replicated', ...(canRunImage() ? ['image'] : [])];
for (const name of wanted) if (!STACKS[name]) throw new Error(`--stack: no stack "${name}" (${Object.keys(STACKS).join(', ')})`);
if (!opts.stack && !wanted.includes('image')) say('no podman or Docker engine here: the image is not measured');
const results = [];
let failed = false;
for (const name of wanted) {
  say(`${name}: starting (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  try {
    results.push(await STACKS[name]());
  } catch (err) {
    failed = true;
    say(`${name}: FAILED: ${err.message}`);
  }
}
report(results);
process.exit(failed || results.some((r) => r.code !== 0) ? 1 : 0);
