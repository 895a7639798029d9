#!/usr/bin/env node
// `npm run test:image`: builds the Docker image and runs it as a NAS would, then checks what the README
// promises of it: it runs as non-root; its health check becomes healthy; both services answer (a developer
// registers and creates an app, ingest accepts an event for it); both databases are replicated into the
// backups volume and `mosis-ops restore-drill` passes inside it; `docker stop` exits 0 within 10 s; and a
// new container on an empty data volume with the old backups volume restores both databases.
//
// It uses podman (or Docker when an engine runs) and detects what this machine needs instead of assuming:
// a base image that cannot be pulled is made with mmdebstrap from Debian 12 and this machine's Node; an OCI
// runtime or rlimits that fail are replaced (runc, explicit ulimits); a build that cannot run its steps
// uses buildah's chroot isolation; a TLS-intercepting proxy's CA is given to the build stage. The summary
// says which of these it had to do. Only Node's standard library is used, so it runs before any install.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const IMAGE = process.env.MOSIS_TEST_IMAGE || 'localhost/mosis-portal:test';
/** The base the Dockerfile names; used as is when present or pullable. */
const WANTED_BASE = process.env.MOSIS_BASE_IMAGE || 'node:20-bookworm-slim';
const LOCAL_BASE = `localhost/mosis-base:node${process.versions.node}-bookworm`;
const BUILD_BASE = 'localhost/mosis-build-base:test';
/** What `docker stop` may take: its default grace period, after which it would SIGKILL. */
const STOP_LIMIT_S = 10;
const PULL_TIMEOUT_MS = 120_000;
const HEALTHY_TIMEOUT_MS = 180_000;
const REPLICA_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 120_000;
const ULIMITS = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768'];
const REGISTRY = 'https://registry.npmjs.org/pnpm';
const CERT_ERROR = /SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)|CERT_/;

const started = performance.now();
const work = mkdtempSync(join(tmpdir(), 'mosis-test-image-'));
const id = `${process.pid}`;
/** What this machine needed, in the order it was found: the summary's list. */
const workarounds = [];
const timings = [];
const cleanups = [];

// ---- small helpers ---------------------------------------------------------------------------------------

function log(line) {
  console.log(`test:image: ${line}`);
}

/** Runs a command to completion; never throws (the caller decides what a failure means). */
function run(cmd, args, { timeout = 600_000, input } = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', timeout, input, maxBuffer: 64 * 1024 * 1024 });
  const out = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  return { code: res.error ? -1 : res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '', out: res.error ? `${res.error.message}\n${out}` : out };
}

/** The last non-empty line of some output, for one-line reasons. */
function lastLine(text) {
  return text.trim().split('\n').filter(Boolean).at(-1) ?? '(no output)';
}

class Failure extends Error {}

function check(ok, what, detail = '') {
  if (!ok) throw new Failure(`${what}${detail ? `\n${detail}` : ''}`);
  log(`ok: ${what}`);
}

async function phase(name, fn) {
  const t0 = performance.now();
  const result = await fn();
  const seconds = (performance.now() - t0) / 1000;
  timings.push([name, seconds]);
  return result;
}

function shellQuote(word) {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

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

/** Polls `probe` (returns a value when done, undefined otherwise) every `everyMs` until `timeoutMs`. */
async function until(what, timeoutMs, probe, everyMs = 1_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Failure(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function request(method, url, body, token) {
  const res = await fetch(url, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}

// ---- the container engine --------------------------------------------------------------------------------

function pickEngine() {
  if (run('podman', ['--version']).code === 0) return 'podman';
  if (run('docker', ['info']).code === 0) return 'docker';
  throw new Failure('neither podman nor a running Docker engine found (Debian: apt-get install podman buildah runc)');
}

const engine = pickEngine();
/** podman-only flags (runtime, rlimits) found to work here; Docker's engine takes care of its own. */
let runFlags = [];
let buildFlags = [];

function engineRun(args, opts) {
  return run(engine, args, opts);
}

function imageExists(image) {
  return engine === 'podman' ? engineRun(['image', 'exists', image]).code === 0 : engineRun(['image', 'inspect', image]).code === 0;
}

// ---- the base image --------------------------------------------------------------------------------------

/** The Dockerfile's base if it is here or can be pulled; else a local one made with mmdebstrap. */
function baseImage() {
  if (imageExists(WANTED_BASE)) {
    log(`base image ${WANTED_BASE} is present`);
    return WANTED_BASE;
  }
  log(`pulling ${WANTED_BASE}`);
  const pull = engineRun(['pull', WANTED_BASE], { timeout: PULL_TIMEOUT_MS });
  if (pull.code === 0) return WANTED_BASE;
  const why = lastLine(pull.out);
  if (imageExists(LOCAL_BASE)) {
    workarounds.push(`local base image: ${WANTED_BASE} could not be pulled (${why}); reused ${LOCAL_BASE}, made with mmdebstrap by an earlier run`);
    return LOCAL_BASE;
  }
  workarounds.push(`local base image: ${WANTED_BASE} could not be pulled (${why}); made ${LOCAL_BASE} with mmdebstrap (Debian 12 minbase + this machine's Node ${process.version})`);
  makeLocalBase();
  return LOCAL_BASE;
}

/**
 * Debian 12 (minbase) with this machine's Node, its headers and npm under /usr/local, and a `node` user of
 * uid/gid 1000: the parts of node:20-bookworm-slim the Dockerfile relies on.
 */
function makeLocalBase() {
  if (run('mmdebstrap', ['--version']).code !== 0) throw new Failure(`${WANTED_BASE} cannot be pulled and mmdebstrap is not installed (apt-get install mmdebstrap)`);
  const node = realpathSync(process.execPath);
  const prefix = dirname(dirname(node));
  for (const need of ['include/node/node.h', 'lib/node_modules/npm/bin/npm-cli.js']) {
    if (!existsSync(join(prefix, need))) throw new Failure(`this machine's Node lacks ${join(prefix, need)}, needed in the local base image`);
  }
  const q = (p) => shellQuote(p);
  const copyNode = [
    'mkdir -p "$1/usr/local/bin" "$1/usr/local/include" "$1/usr/local/lib/node_modules"',
    `cp -a ${q(node)} "$1/usr/local/bin/node"`,
    `cp -a ${q(join(prefix, 'include/node'))} "$1/usr/local/include/"`,
    `cp -a ${q(join(prefix, 'lib/node_modules/npm'))} "$1/usr/local/lib/node_modules/"`,
    'ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"',
    'ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"',
  ].join(' && ');
  const addUser = 'chroot "$1" groupadd --gid 1000 node && chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node';
  const tar = join(work, 'base.tar');
  log(`making ${LOCAL_BASE} with mmdebstrap`);
  const res = run('mmdebstrap', ['--variant=minbase', '--format=tar', `--customize-hook=${copyNode}`, `--customize-hook=${addUser}`, 'bookworm', tar]);
  if (res.code !== 0) throw new Failure('mmdebstrap failed', res.out.slice(-3000));
  const imp = engineRun(['import', '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '--change', 'CMD ["node"]', tar, LOCAL_BASE]);
  rmSync(tar, { force: true });
  if (imp.code !== 0) throw new Failure(`${engine} import failed`, imp.out);
}

// ---- what runs here: runtime, rlimits, build isolation, the build's network ------------------------------

/** Finds run flags under which a container starts (podman: the default runtime, else crun or runc, with ulimits). */
function probeRuntime(base) {
  if (engine !== 'podman') return;
  const info = engineRun(['info', '--format', '{{.Host.OCIRuntime.Name}}']);
  const name = info.code === 0 ? info.stdout.trim() : 'unknown';
  const candidates = [
    { flags: [], runtime: name, ulimits: false },
    { flags: ULIMITS, runtime: name, ulimits: true },
  ];
  for (const rt of ['crun', 'runc']) {
    if (rt !== name && run('sh', ['-c', `command -v ${rt}`]).code === 0) {
      candidates.push({ flags: ['--runtime', rt], runtime: rt, ulimits: false }, { flags: ['--runtime', rt, ...ULIMITS], runtime: rt, ulimits: true });
    }
  }
  /** Why each candidate failed, by `runtime` and `runtime+ulimits`. */
  const failures = new Map();
  const key = (c) => `${c.runtime}${c.ulimits ? ' with explicit ulimits' : ''}`;
  for (const c of candidates) {
    const res = engineRun(['run', '--rm', ...c.flags, base, 'true'], { timeout: PROBE_TIMEOUT_MS });
    if (res.code === 0) {
      runFlags = c.flags;
      const tried = [...failures].map(([k, why]) => `${k}: ${why}`).join('; ');
      if (c.runtime !== name) workarounds.push(`runtime: used ${c.runtime} (--runtime ${c.runtime}) because the default ${name} failed (${tried})`);
      else log(`the default runtime ${name} works${c.ulimits ? ' with explicit ulimits' : ''}`);
      if (c.ulimits) workarounds.push(`explicit ulimits (${ULIMITS.filter((f) => f !== '--ulimit').join(', ')}) because ${c.runtime} cannot set the default ones (${failures.get(c.runtime)})`);
      return;
    }
    failures.set(key(c), lastLine(res.out));
  }
  throw new Failure('no OCI runtime could start a container', [...failures].map(([k, why]) => `${k}: ${why}`).join('\n'));
}

/** Builds a one-off Containerfile; returns the engine's result. */
function buildProbe(lines, flags, tag = `localhost/mosis-probe:${id}`, files = {}) {
  const dir = mkdtempSync(join(work, 'probe-'));
  writeFileSync(join(dir, 'Containerfile'), lines.join('\n') + '\n');
  for (const [name, from] of Object.entries(files)) copyFileSync(from, join(dir, name));
  const res = engineRun(['build', ...flags, '-t', tag, '-f', join(dir, 'Containerfile'), dir], { timeout: PROBE_TIMEOUT_MS });
  rmSync(dir, { recursive: true, force: true });
  if (tag.startsWith('localhost/mosis-probe:')) engineRun(['rmi', '-f', tag]);
  return res;
}

/** Finds build flags under which a RUN step works: the run flags, else buildah's chroot isolation. */
function probeBuild(base) {
  if (engine !== 'podman') return;
  const candidates = [runFlags, [...runFlags, '--isolation', 'chroot'], ['--isolation', 'chroot']];
  let first;
  for (const flags of candidates) {
    const res = buildProbe([`FROM ${base}`, 'RUN true'], flags);
    if (res.code === 0) {
      buildFlags = flags;
      if (flags.includes('chroot')) workarounds.push(`build isolation: buildah's chroot isolation (--isolation chroot) because RUN steps failed under the OCI runtime: ${first}`);
      return;
    }
    first ??= lastLine(res.out);
  }
  throw new Failure(`no build isolation could run a RUN step: ${first}`);
}

/**
 * The build stage fetches pnpm and the dependencies from the npm registry. Behind a TLS-intercepting proxy
 * (this machine's own CA in NODE_EXTRA_CA_CERTS) the base does not trust it: then the build stage alone
 * gets a base with this machine's CA bundle. Returns the base for the build stage.
 */
function probeRegistry(base) {
  const fetchRegistry = `RUN node -e "fetch('${REGISTRY}',{method:'HEAD'}).then(r=>process.exit(r.ok?0:3),e=>{console.error('registry-probe-failed: '+(e.cause&&e.cause.code||e.message));process.exit(4)})"`;
  const plain = buildProbe([`FROM ${base}`, fetchRegistry], buildFlags);
  if (plain.code === 0) return base;
  const why = /registry-probe-failed: ([^'\n]+)$/m.exec(plain.out)?.[1] ?? lastLine(plain.out);
  const bundle = process.env.NODE_EXTRA_CA_CERTS || '/etc/ssl/certs/ca-certificates.crt';
  if (CERT_ERROR.test(why) && existsSync(bundle)) {
    const made = buildProbe(
      [`FROM ${base}`, 'COPY host-ca.crt /usr/local/share/mosis-host-ca.crt', 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/mosis-host-ca.crt', fetchRegistry],
      buildFlags,
      BUILD_BASE,
      { 'host-ca.crt': bundle },
    );
    if (made.code !== 0) throw new Failure(`the npm registry is not reachable from a build even with ${bundle}`, made.out.slice(-2000));
    workarounds.push(`build-stage CA: the npm registry's certificate is not trusted in a container (${why}): the build stage's base (${BUILD_BASE}) adds this machine's ${bundle} as NODE_EXTRA_CA_CERTS; the runtime image does not have it`);
    return BUILD_BASE;
  }
  if (engine === 'podman') {
    const host = buildProbe([`FROM ${base}`, fetchRegistry], [...buildFlags, '--network', 'host']);
    if (host.code === 0) {
      buildFlags = [...buildFlags, '--network', 'host'];
      workarounds.push(`build network: the host's network (--network host) because the default one could not reach the npm registry (${why})`);
      return base;
    }
  }
  throw new Failure(`the npm registry is not reachable from a build (${why})`);
}

// ---- build -----------------------------------------------------------------------------------------------

async function buildImage(base, buildBase) {
  const logPath = join(work, 'build.log');
  const args = [
    'build',
    ...(engine === 'podman' ? ['--format', 'docker'] : []), // OCI images have no HEALTHCHECK
    ...buildFlags,
    '--build-arg', `NODE_IMAGE=${base}`,
    '--build-arg', `BUILD_IMAGE=${buildBase}`,
    '-t', IMAGE,
    ROOT,
  ];
  log(`${engine} ${args.join(' ')}`);
  const out = createWriteStream(logPath);
  const code = await new Promise((resolve) => {
    const child = spawn(engine, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    const onData = (d) => {
      out.write(d);
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop();
      for (const line of lines) if (/^(STEP \d+|\[\d+\/\d+\]|#\d+ \[)/.test(line)) log(`  ${line.slice(0, 150)}`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (c) => resolve(c));
  });
  out.end();
  const text = readFileSync(logPath, 'utf8');
  if (code !== 0) throw new Failure(`the image build failed (log: ${logPath})`, text.split('\n').slice(-40).join('\n'));
  const size = engineRun(['image', 'inspect', '--format', '{{.Size}}', IMAGE]).stdout.trim();
  log(`built ${IMAGE}: ${(Number(size) / 1e6).toFixed(0)} MB`);
  return Number(size);
}

// ---- containers ------------------------------------------------------------------------------------------

function volume(name) {
  const res = engineRun(['volume', 'create', name]);
  if (res.code !== 0) throw new Failure(`volume create ${name}`, res.out);
  cleanups.push(() => engineRun(['volume', 'rm', '-f', name]));
  return name;
}

/** Starts a container of the image with the two volumes; returns its name and base URLs. */
async function startContainer(name, dataVolume, backupVolume) {
  const core = await freePort();
  const ingest = await freePort();
  cleanups.push(() => engineRun(['rm', '-f', '-t', '0', name]));
  const common = ['run', '-d', '--name', name, ...runFlags, '-v', `${dataVolume}:/data`, '-v', `${backupVolume}:/backups`, '-e', 'LOG_LEVEL=warn'];
  let res = engineRun([...common, '-p', `127.0.0.1:${core}:8080`, '-p', `127.0.0.1:${ingest}:8081`, IMAGE]);
  if (res.code !== 0 && /network|port|slirp|netavark|cni|iptables/i.test(res.out)) {
    engineRun(['rm', '-f', name]);
    workarounds.push(`host network (--network host): publishing ports failed (${lastLine(res.out)})`);
    res = engineRun([...common, '--network', 'host', '-e', `CORE_PORT=${core}`, '-e', `INGEST_PORT=${ingest}`, '-e', 'HOST=127.0.0.1', IMAGE]);
  }
  if (res.code !== 0) throw new Failure(`${engine} run ${name} failed`, res.out);
  return { name, core: `http://127.0.0.1:${core}`, ingest: `http://127.0.0.1:${ingest}` };
}

function logs(c) {
  return engineRun(['logs', c.name]).out;
}

function inspect(c, format) {
  return engineRun(['inspect', '--format', format, c.name]).stdout.trim();
}

function exec(c, args) {
  return engineRun(['exec', c.name, ...args]);
}

/** Waits until the image's HEALTHCHECK reports healthy (podman runs it on request, having no timer here). */
async function healthy(c) {
  const t0 = performance.now();
  await until(`${c.name} to become healthy`, HEALTHY_TIMEOUT_MS, () => {
    if (inspect(c, '{{.State.Running}}') !== 'true') throw new Failure(`${c.name} exited (code ${inspect(c, '{{.State.ExitCode}}')})`, logs(c).slice(-4000));
    if (engine === 'podman') engineRun(['healthcheck', 'run', c.name]);
    const status = inspect(c, '{{.State.Health.Status}}') || inspect(c, '{{.State.Healthcheck.Status}}');
    return status === 'healthy' ? status : undefined;
  });
  const seconds = (performance.now() - t0) / 1000;
  check(true, `${c.name}: health check healthy ${seconds.toFixed(1)} s after start`);
  return seconds;
}

/** Stops a container as `docker stop` does (SIGTERM, SIGKILL after STOP_LIMIT_S); checks the time and exit code. */
function stopContainer(c) {
  const t0 = performance.now();
  const res = engineRun(['stop', '-t', String(STOP_LIMIT_S), c.name]);
  const seconds = (performance.now() - t0) / 1000;
  const code = inspect(c, '{{.State.ExitCode}}');
  check(res.code === 0 && code === '0' && seconds < STOP_LIMIT_S, `${engine} stop ${c.name}: exit code ${code} after ${seconds.toFixed(1)} s (limit ${STOP_LIMIT_S} s)`, `${res.out}\n${logs(c).slice(-3000)}`);
  return seconds;
}

/** Uids of every process in the container (from /proc, with the image's own node). */
function processUids(c) {
  const script = "const fs=require('fs');for(const p of fs.readdirSync('/proc').filter(d=>/^\\d+$/.test(d))){try{const s=fs.readFileSync('/proc/'+p+'/status','utf8');console.log(p,/^Name:\\s*(.*)$/m.exec(s)[1],/^Uid:\\s*(\\d+)/m.exec(s)[1])}catch{}}";
  const res = exec(c, ['node', '-e', script]);
  if (res.code !== 0) throw new Failure('could not list the container processes', res.out);
  return res.stdout.trim().split('\n').map((l) => l.split(' '));
}

const event = (app) => ({
  sent_at: new Date().toISOString(),
  events: [
    {
      event_id: crypto.randomUUID(),
      app,
      device_id: 'image-test-device',
      event_type: 'app_open',
      timestamp: new Date().toISOString(),
      mosis_version: '1.4.2',
      data: { from: 'test:image' },
    },
  ],
});

/** Posts an event until ingest knows the app (it reads new apps from portal.db within a second or so). */
async function ingestAccepts(c, app) {
  return until(`ingest to accept an event for ${app}`, 30_000, async () => {
    const res = await request('POST', `${c.ingest}/v1/events`, event(app));
    if (res.status !== 202) throw new Failure(`POST /v1/events: ${res.status}`, JSON.stringify(res.body));
    return res.body.accepted === 1 ? res.body : undefined;
  });
}

// ---- the test --------------------------------------------------------------------------------------------

const EMAIL = `image-test-${id}@example.com`;
const PASSWORD = 'correct horse battery staple';
const APP = 'com.example.imagetest';
const figures = {};

async function main() {
  log(`engine: ${engine} ${lastLine(engineRun(['--version']).out)}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const base = await phase('base image', () => baseImage());
  await phase('probes', () => probeRuntime(base));
  await phase('probes', () => probeBuild(base));
  const buildBase = await phase('probes', () => probeRegistry(base));
  figures.size = await phase('build', () => buildImage(base, buildBase));

  const data = volume(`mosis-test-data-${id}`);
  const backups = volume(`mosis-test-backups-${id}`);
  const first = await startContainer(`mosis-test-${id}`, data, backups);
  figures.healthy1 = await phase('first start', () => healthy(first));

  const uids = processUids(first);
  check(uids.length >= 4 && uids.every(([, , uid]) => uid !== '0'), `non-root: every process runs as a non-root uid (${[...new Set(uids.map((u) => u[2]))].join(', ')}): ${uids.map((u) => u[1]).join(', ')}`, JSON.stringify(uids));
  check(exec(first, ['id', '-u']).stdout.trim() === '1000', 'docker exec runs as uid 1000 (node)');
  check(exec(first, ['sh', '-c', 'command -v sftp']).code === 0, "the image has OpenSSH's sftp (the off-site copy of package files)");

  for (const [service, base] of [['core', first.core], ['ingest', first.ingest]]) {
    const res = await request('GET', `${base}/healthz`);
    check(res.status === 200, `${service} answers GET /healthz`, JSON.stringify(res.body));
  }
  // The web console is in the image: its page, and every file it loads (its modules built by tsc, uPlot from the prod install).
  const signIn = await fetch(`${first.core}/console/sign-in`, { signal: AbortSignal.timeout(10_000) });
  const signInHtml = await signIn.text();
  check(signIn.status === 200 && signInHtml.includes('<h1>Sign in</h1>'), 'core: the web console answers GET /console/sign-in', signInHtml.slice(0, 500));
  for (const file of ['console.css', 'main.js', 'charts.js', 'vendor/uPlot.iife.min.js']) {
    const url = `${first.core}${/href="(\/console\/static\/[0-9a-f]+\/)console\.css"/.exec(signInHtml)?.[1] ?? '/console/static/none/'}${file}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    check(res.status === 200 && (await res.arrayBuffer()).byteLength > 0, `core: the console serves ${file}`, url);
  }
  const reg = await request('POST', `${first.core}/v1/auth/register`, { email: EMAIL, name: 'Image test', password: PASSWORD });
  check(reg.status === 201, 'core: a developer registers (201)', JSON.stringify(reg.body));
  const app = await request('POST', `${first.core}/v1/apps`, { package_id: APP, name: 'Image test' }, reg.body.token);
  check(app.status === 201, 'core: the developer creates an app (201)', JSON.stringify(app.body));
  await ingestAccepts(first, APP);
  check(true, `ingest: accepts an event for ${APP} (202, accepted 1)`);

  const replicaFiles = await until('both databases to appear in the backups volume', REPLICA_TIMEOUT_MS, () => {
    const res = exec(first, ['find', '/backups', '-name', '*.lz4']);
    const files = res.stdout.trim().split('\n').filter(Boolean);
    const has = (db, kind) => files.some((f) => f.startsWith(`/backups/${db}/generations/`) && f.includes(`/${kind}/`));
    return ['portal', 'telemetry'].every((db) => has(db, 'snapshots') && has(db, 'wal')) ? files : undefined;
  });
  check(true, `both databases replicated: ${replicaFiles.length} snapshot and WAL files under /backups/portal and /backups/telemetry`);
  const drill = exec(first, ['mosis-ops', 'restore-drill']);
  console.log(drill.out.trim().replace(/^/gm, '    '));
  check(drill.code === 0 && drill.out.includes('drill passed'), 'mosis-ops restore-drill passes inside the container', drill.out);
  figures.drill = drill.out;

  figures.stop1 = await phase('stop', () => stopContainer(first));
  check(logs(first).includes('litestream shut down'), 'Litestream shut down cleanly (its last sync done)', logs(first).slice(-3000));

  // The data volume is lost: a new, empty one with the old backups volume.
  const data2 = volume(`mosis-test-data2-${id}`);
  const second = await startContainer(`mosis-test-restored-${id}`, data2, backups);
  figures.healthy2 = await phase('restore start', () => healthy(second));
  const startLog = logs(second);
  for (const line of ['portal.db restored from its replica', 'telemetry.db restored from its replica', 'device-hash.secret restored']) {
    check(startLog.includes(`entrypoint: ${line}`), `the new container says "${line}"`, startLog.slice(-3000));
  }
  const login = await request('POST', `${second.core}/v1/auth/login`, { email: EMAIL, password: PASSWORD });
  check(login.status === 200, 'the developer logs in on the restored portal.db', JSON.stringify(login.body));
  const apps = await request('GET', `${second.core}/v1/apps`, undefined, login.body.token);
  check(apps.status === 200 && JSON.stringify(apps.body).includes(APP), `the app ${APP} is there`, JSON.stringify(apps.body));
  const stats = exec(second, ['mosis-ops', 'stats']);
  const events = [...stats.out.matchAll(/telemetry_events_\d{4}_\d{2}\s+(\d+) rows/g)].reduce((n, m) => n + Number(m[1]), 0);
  check(stats.code === 0 && events >= 1, `the restored telemetry.db holds the event(s) sent before (${events})`, stats.out);
  await ingestAccepts(second, APP);
  check(true, 'ingest on the restored data accepts events for the app');
  figures.stop2 = await phase('stop', () => stopContainer(second));
}

function summary(ok, error) {
  const total = (performance.now() - started) / 1000;
  const byPhase = new Map();
  for (const [name, s] of timings) byPhase.set(name, (byPhase.get(name) ?? 0) + s);
  console.log('');
  log(`${ok ? 'PASSED' : 'FAILED'} in ${total.toFixed(0)} s (load average now ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  if (error) console.log(`  failed: ${error.message}`);
  console.log(`  workarounds this machine needed${workarounds.length ? ':' : ': none'}`);
  for (const w of workarounds) console.log(`    - ${w}`);
  console.log(`  timings: ${[...byPhase].map(([n, s]) => `${n} ${s.toFixed(1)} s`).join(', ')}`);
  if (figures.size) console.log(`  image ${IMAGE}: ${(figures.size / 1e6).toFixed(0)} MB`);
  if (figures.stop1 !== undefined) console.log(`  docker stop: ${figures.stop1.toFixed(1)} s${figures.stop2 !== undefined ? `, after the restore ${figures.stop2.toFixed(1)} s` : ''} (limit ${STOP_LIMIT_S} s)`);
}

let failed;
try {
  await main();
} catch (err) {
  failed = err;
} finally {
  for (const fn of cleanups.reverse()) fn();
  rmSync(work, { recursive: true, force: true });
}
summary(!failed, failed);
if (failed && !(failed instanceof Failure)) console.error(failed);
process.exit(failed ? 1 : 0);
