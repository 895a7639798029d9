import { freePort, openDatabase, spawnNode, waitForHttp, type ChildHandle } from '@mosis/shared';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from './cli.js';

/** Test helpers for the ops package's process tests: they run the built dist/ (npm test builds first). */

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
export const ENTRYPOINT = fileURLToPath(new URL('../../../docker/entrypoint.sh', import.meta.url));

/** Generous: two services start, migrate and Litestream snapshots, on a loaded two-core machine. */
export const START_TIMEOUT_MS = 45_000;

/** A deployment under test: its directories, ports and the process running it. */
export interface Deployment {
  proc: ChildHandle;
  core: string;
  ingest: string;
  env: NodeJS.ProcessEnv;
}

/** Environment of a deployment in `root`: data, backups and two free loopback ports. */
export async function deploymentEnv(root: string, extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  return {
    DATA_DIR: `${root}/data`,
    BACKUP_DIR: `${root}/backups`,
    CORE_PORT: String(await freePort()),
    INGEST_PORT: String(await freePort()),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** Runs docker/entrypoint.sh (the image's start-up) with `env` over this environment, collecting its output. */
export function spawnEntrypoint(env: NodeJS.ProcessEnv): ChildHandle {
  const child = spawn('sh', [ENTRYPOINT], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, exited };
}

/** Runs `ops replicate` (what `npm run start:replicated` runs) and waits until both services answer. */
export async function startReplicated(env: NodeJS.ProcessEnv): Promise<Deployment> {
  return started(spawnNode(CLI, ['replicate'], env), env);
}

/** Waits for both services of a started process; kills it and fails with its output if they never answer. */
export async function started(proc: ChildHandle, env: NodeJS.ProcessEnv): Promise<Deployment> {
  const core = `http://127.0.0.1:${env.CORE_PORT}`;
  const ingest = `http://127.0.0.1:${env.INGEST_PORT}`;
  try {
    await Promise.race([
      Promise.all([waitForHttp(`${core}/readyz`, START_TIMEOUT_MS), waitForHttp(`${ingest}/readyz`, START_TIMEOUT_MS)]),
      proc.exited.then(({ code, signal }) => {
        throw new Error(`exited early with ${signal ?? code}`);
      }),
    ]);
  } catch (err) {
    proc.child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${proc.output()}`);
  }
  return { proc, core, ingest, env };
}

/** Sends `signal` to `pid` and waits for the deployment's own process to exit; returns its exit code. */
export async function stop(d: Deployment, pid = d.proc.child.pid!, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  process.kill(pid, signal);
  const { code } = await d.proc.exited;
  return code;
}

/** What an ops command run in-process printed: stdout, stderr, and both in the order printed. */
export interface OpsRun {
  code: number;
  out: string;
  err: string;
  output: string;
}

/**
 * Runs the ops command line in-process and collects what it printed. With `env`, those variables are laid
 * over the environment for this one command and the whole environment is put back after it.
 */
export async function runOps(argv: string[], env?: NodeJS.ProcessEnv): Promise<OpsRun> {
  const saved = env && { ...process.env };
  if (env) Object.assign(process.env, env);
  const out: string[] = [];
  const err: string[] = [];
  const output: string[] = [];
  const print = (stream: string[]) => (line: string) => {
    stream.push(line);
    output.push(line);
  };
  try {
    const code = await runCli(argv, print(out), print(err));
    return { code, out: out.join('\n'), err: err.join('\n'), output: output.join('\n') };
  } finally {
    if (saved) process.env = saved;
  }
}

/** Direct children of a process (Linux `ps`). */
export function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

/** SIGKILLs a process and all its descendants (deepest first), for cleanup after a failed test. */
export function killTree(pid: number | undefined): void {
  if (!pid) return;
  for (const child of childPids(pid)) killTree(child);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The command line of a process. */
export function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
}

/** One variable of a running process's environment. */
export function environOf(pid: number, name: string): string | undefined {
  const entry = readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .find((e) => e.startsWith(`${name}=`));
  return entry?.slice(name.length + 1);
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** POSTs JSON and returns status and parsed body. */
export async function postJson(url: string, body: unknown, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** GETs JSON with an optional bearer token. */
export async function getJson(url: string, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Creates an API key (one portal write, audited); returns its id. */
export async function createKey(core: string, token: string, name: string): Promise<string> {
  const res = await postJson(`${core}/v1/api-keys`, { name, permissions: ['apps:read'] }, token);
  if (res.status !== 201) throw new Error(`create key ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body.id ?? res.body.api_key?.id) as string;
}

/** Registers a developer; returns the session token. */
export async function register(core: string, email: string): Promise<string> {
  const res = await postJson(`${core}/v1/auth/register`, { email, name: email.split('@')[0], password: 'correct horse battery staple' });
  if (res.status !== 201) throw new Error(`register ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}

/** What a load run sent and what the ingest service acknowledged. */
export interface LoadResult {
  /** event_id of every event a 202 acknowledged (not listed in its `rejected`). */
  acked: string[];
  /** Responses by HTTP status. */
  statuses: Record<number, number>;
  events: number;
}

/**
 * Posts batches of fresh events for `pkg` to POST /v1/events from `concurrency` workers, until `batches`
 * were sent or `durationMs` passed. Timestamps spread over the last hour, so they land in today's data.
 */
export async function ingestLoad(
  ingest: string,
  pkg: string,
  opts: { batches: number; batchSize: number; concurrency: number; durationMs?: number },
): Promise<LoadResult> {
  const result: LoadResult = { acked: [], statuses: {}, events: 0 };
  const deadline = Date.now() + (opts.durationMs ?? Infinity);
  let next = 0;
  const worker = async () => {
    while (next < opts.batches && Date.now() < deadline) {
      const batch = next++;
      const now = Date.now();
      const events = Array.from({ length: opts.batchSize }, (_, i) => ({
        event_id: randomUUID(),
        app: pkg,
        device_id: `device-${(batch * opts.batchSize + i) % 500}`,
        event_type: ['app_open', 'screen_view', 'purchase'][i % 3],
        timestamp: new Date(now - ((batch * 7919 + i * 104_729) % 3_600_000)).toISOString(),
        mosis_version: '1.4.2',
        data: { batch, i },
      }));
      const res = await postJson(`${ingest}/v1/events`, { sent_at: new Date(now).toISOString(), events });
      result.statuses[res.status] = (result.statuses[res.status] ?? 0) + 1;
      result.events += events.length;
      if (res.status === 202) {
        const rejected = new Set((res.body.rejected as { index: number }[]).map((r) => r.index));
        events.forEach((e, i) => rejected.has(i) || result.acked.push(e.event_id));
      } else if (res.status === 503) {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return result;
}

/** Every row of every application table (Litestream's own left out), sorted, for exact comparisons. */
export function tableContents(path: string): Record<string, string[]> {
  const db = openDatabase(path, { readonly: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_litestream_%' ORDER BY name")
      .pluck()
      .all() as string[];
    return Object.fromEntries(
      tables.map((t) => [
        t,
        (db.prepare(`SELECT * FROM "${t}"`).raw().all() as unknown[][])
          .map((row) => JSON.stringify(row, (_k, v) => (Buffer.isBuffer(v) || v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'bigint' ? String(v) : v)))
          .sort(),
      ]),
    );
  } finally {
    db.close();
  }
}

/** OpenSSH's server, if installed (Debian: openssh-server); undefined otherwise. */
export function sshdBinary(): string | undefined {
  for (const path of ['/usr/sbin/sshd', '/usr/local/sbin/sshd']) if (existsSync(path)) return path;
  try {
    return execFileSync('sh', ['-c', 'command -v sshd'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A real sshd on 127.0.0.1 standing in for the other NAS: what an off-site SFTP replica needs to reach it. */
export interface SshServer {
  proc: ChildHandle;
  port: number;
  user: string;
  /** A private key the server accepts, and a known_hosts file that names the server's host key. */
  clientKey: string;
  knownHosts: string;
  /** The known_hosts line of another host key: for a test of a changed key. */
  wrongKnownHosts: string;
}

function keygen(path: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mosis-test', '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
}

/**
 * Starts sshd in the foreground on a free loopback port with its own host key and a temporary
 * authorized_keys (only key logins, for the user running the tests; sftp via internal-sftp), and waits
 * until it listens.
 */
export async function startSshd(sshd: string, dir: string): Promise<SshServer> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const hostKey = keygen(join(dir, 'host_key'));
  const otherHostKey = keygen(join(dir, 'other_host_key'));
  const clientPub = keygen(join(dir, 'client_key'));
  writeFileSync(join(dir, 'authorized_keys'), `${clientPub}\n`);
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
  writeFileSync(join(dir, 'wrong_known_hosts'), `[127.0.0.1]:${port} ${otherHostKey}\n`);
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${dir}/host_key`,
      `PidFile ${dir}/sshd.pid`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  // Debian's service creates sshd's privilege separation directory; a test run has no service.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true });
  const child = spawn(sshd, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const proc = { child, output: () => out, exited };
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes(`Server listening on 127.0.0.1 port ${port}`)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(({ code }) => reject(new Error(`sshd exited with ${code}:\n${out}`)));
  });
  return { proc, port, user: userInfo().username, clientKey: join(dir, 'client_key'), knownHosts: join(dir, 'known_hosts'), wrongKnownHosts: join(dir, 'wrong_known_hosts') };
}

/** The OFFSITE_* variables of an SFTP off-site replica on `server`, in folder `path`. */
export function offsiteEnv(server: SshServer, path: string): NodeJS.ProcessEnv {
  return {
    OFFSITE_SFTP_HOST: `127.0.0.1:${server.port}`,
    OFFSITE_SFTP_USER: server.user,
    OFFSITE_SFTP_KEY_PATH: server.clientKey,
    OFFSITE_SFTP_KNOWN_HOSTS: server.knownHosts,
    OFFSITE_SFTP_PATH: path,
  };
}

/** Stores `content` as a package file in `dataDir` the way uploads do (notes/layout.md); returns its hash. */
export function writePackage(dataDir: string, content: string | Buffer): string {
  const hash = createHash('sha256').update(content).digest('hex');
  mkdirSync(join(dataDir, 'packages', hash.slice(0, 2)), { recursive: true });
  writeFileSync(join(dataDir, 'packages', hash.slice(0, 2), hash), content);
  return hash;
}
