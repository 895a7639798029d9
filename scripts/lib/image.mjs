// What `npm run test:image` and `scripts/measure-memory.mjs --image` share: the container engine (podman, or
// Docker when an engine runs) and what this machine needs to build and run the image, found out instead of
// assumed (see scripts/test-image.mjs), plus small helpers. Node's standard library only.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const IMAGE = process.env.MOSIS_TEST_IMAGE || 'localhost/mosis-portal:test';
/** The base the Dockerfile names; used as is when present or pullable. */
const WANTED_BASE = process.env.MOSIS_BASE_IMAGE || 'node:20-bookworm-slim';
const LOCAL_BASE = `localhost/mosis-base:node${process.versions.node}-bookworm`;
const BUILD_BASE = 'localhost/mosis-build-base:test';
/** What `docker stop` may take: its default grace period, after which it would SIGKILL. */
export const STOP_LIMIT_S = 10;
const PULL_TIMEOUT_MS = 120_000;
const HEALTHY_TIMEOUT_MS = 180_000;
export const REPLICA_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 120_000;
const ULIMITS = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768'];
const REGISTRY = 'https://registry.npmjs.org/pnpm';
const CERT_ERROR = /SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)|CERT_/;

export const started = performance.now();
export const work = mkdtempSync(join(tmpdir(), 'mosis-test-image-'));
export const id = `${process.pid}`;
/** What this machine needed, in the order it was found: the summary's list. */
export const workarounds = [];
export const timings = [];
export const cleanups = [];

// ---- small helpers ---------------------------------------------------------------------------------------

let prefix = 'test:image';

/** Names the script in every line `log` prints. */
export function setLogPrefix(name) {
  prefix = name;
}

export function log(line) {
  console.log(`${prefix}: ${line}`);
}

/** Runs a command to completion; never throws (the caller decides what a failure means). */
export function run(cmd, args, { timeout = 600_000, input } = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', timeout, input, maxBuffer: 64 * 1024 * 1024 });
  const out = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  return { code: res.error ? -1 : res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '', out: res.error ? `${res.error.message}\n${out}` : out };
}

/** The last non-empty line of some output, for one-line reasons. */
export function lastLine(text) {
  return text.trim().split('\n').filter(Boolean).at(-1) ?? '(no output)';
}

export class Failure extends Error {}

export function check(ok, what, detail = '') {
  if (!ok) throw new Failure(`${what}${detail ? `\n${detail}` : ''}`);
  log(`ok: ${what}`);
}

export async function phase(name, fn) {
  const t0 = performance.now();
  const result = await fn();
  const seconds = (performance.now() - t0) / 1000;
  timings.push([name, seconds]);
  return result;
}

export function shellQuote(word) {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export function freePort() {
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
export async function until(what, timeoutMs, probe, everyMs = 1_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Failure(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function request(method, url, body, token) {
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

export function pickEngine() {
  if (run('podman', ['--version']).code === 0) return 'podman';
  if (run('docker', ['info']).code === 0) return 'docker';
  throw new Failure('neither podman nor a running Docker engine found (Debian: apt-get install podman buildah runc)');
}

export const engine = pickEngine();
/** podman-only flags (runtime, rlimits) found to work here; Docker's engine takes care of its own. */
export let runFlags = [];
export let buildFlags = [];

export function engineRun(args, opts) {
  return run(engine, args, opts);
}

export function imageExists(image) {
  return engine === 'podman' ? engineRun(['image', 'exists', image]).code === 0 : engineRun(['image', 'inspect', image]).code === 0;
}

// ---- the base image --------------------------------------------------------------------------------------

/** The Dockerfile's base if it is here or can be pulled; else a local one made with mmdebstrap. */
export function baseImage() {
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
export function makeLocalBase() {
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
export function probeRuntime(base) {
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
export function buildProbe(lines, flags, tag = `localhost/mosis-probe:${id}`, files = {}) {
  const dir = mkdtempSync(join(work, 'probe-'));
  writeFileSync(join(dir, 'Containerfile'), lines.join('\n') + '\n');
  for (const [name, from] of Object.entries(files)) copyFileSync(from, join(dir, name));
  const res = engineRun(['build', ...flags, '-t', tag, '-f', join(dir, 'Containerfile'), dir], { timeout: PROBE_TIMEOUT_MS });
  rmSync(dir, { recursive: true, force: true });
  if (tag.startsWith('localhost/mosis-probe:')) engineRun(['rmi', '-f', tag]);
  return res;
}

/** Finds build flags under which a RUN step works: the run flags, else buildah's chroot isolation. */
export function probeBuild(base) {
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
export function probeRegistry(base) {
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

export async function buildImage(base, buildBase, image = IMAGE) {
  const logPath = join(work, 'build.log');
  const args = [
    'build',
    ...(engine === 'podman' ? ['--format', 'docker'] : []), // OCI images have no HEALTHCHECK
    ...buildFlags,
    '--build-arg', `NODE_IMAGE=${base}`,
    '--build-arg', `BUILD_IMAGE=${buildBase}`,
    '-t', image,
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
  const size = engineRun(['image', 'inspect', '--format', '{{.Size}}', image]).stdout.trim();
  log(`built ${image}: ${(Number(size) / 1e6).toFixed(0)} MB`);
  return Number(size);
}

// ---- containers ------------------------------------------------------------------------------------------

export function volume(name) {
  const res = engineRun(['volume', 'create', name]);
  if (res.code !== 0) throw new Failure(`volume create ${name}`, res.out);
  cleanups.push(() => engineRun(['volume', 'rm', '-f', name]));
  return name;
}

/** Starts a container of the image with the two volumes; returns its name and base URLs. */
export async function startContainer(name, dataVolume, backupVolume, image = IMAGE) {
  const core = await freePort();
  const ingest = await freePort();
  cleanups.push(() => engineRun(['rm', '-f', '-t', '0', name]));
  // V8_SEMI_SPACE_MIB reaches the container as it reaches the other starters (nodeFlags() in launcher.ts).
  const semiSpace = process.env.V8_SEMI_SPACE_MIB ? ['-e', `V8_SEMI_SPACE_MIB=${process.env.V8_SEMI_SPACE_MIB}`] : [];
  const common = ['run', '-d', '--name', name, ...runFlags, '-v', `${dataVolume}:/data`, '-v', `${backupVolume}:/backups`, '-e', 'LOG_LEVEL=warn', ...semiSpace];
  let res = engineRun([...common, '-p', `127.0.0.1:${core}:8080`, '-p', `127.0.0.1:${ingest}:8081`, image]);
  if (res.code !== 0 && /network|port|slirp|netavark|cni|iptables/i.test(res.out)) {
    engineRun(['rm', '-f', name]);
    workarounds.push(`host network (--network host): publishing ports failed (${lastLine(res.out)})`);
    res = engineRun([...common, '--network', 'host', '-e', `CORE_PORT=${core}`, '-e', `INGEST_PORT=${ingest}`, '-e', 'HOST=127.0.0.1', image]);
  }
  if (res.code !== 0) throw new Failure(`${engine} run ${name} failed`, res.out);
  return { name, core: `http://127.0.0.1:${core}`, ingest: `http://127.0.0.1:${ingest}` };
}

export function logs(c) {
  return engineRun(['logs', c.name]).out;
}

export function inspect(c, format) {
  return engineRun(['inspect', '--format', format, c.name]).stdout.trim();
}

export function exec(c, args) {
  return engineRun(['exec', c.name, ...args]);
}

/** Waits until the image's HEALTHCHECK reports healthy (podman runs it on request, having no timer here). */
export async function healthy(c) {
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
export function stopContainer(c) {
  const t0 = performance.now();
  const res = engineRun(['stop', '-t', String(STOP_LIMIT_S), c.name]);
  const seconds = (performance.now() - t0) / 1000;
  const code = inspect(c, '{{.State.ExitCode}}');
  check(res.code === 0 && code === '0' && seconds < STOP_LIMIT_S, `${engine} stop ${c.name}: exit code ${code} after ${seconds.toFixed(1)} s (limit ${STOP_LIMIT_S} s)`, `${res.out}\n${logs(c).slice(-3000)}`);
  return seconds;
}
