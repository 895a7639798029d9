import { openDatabase, tempDir } from '@mosis/shared';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkDatabase } from './database-check.js';
import { LAUNCHER, MALLOC_ENV } from './launcher.js';
import { LITESTREAM_ENV } from './litestream.js';
import {
  CLI,
  childPids,
  commandLine,
  createKey,
  deploymentEnv,
  environOf,
  eventually,
  killTree,
  postJson,
  register,
  runOps,
  started,
  startReplicated,
  stop,
  type Deployment,
} from './testing.js';

// `ops replicate` (npm run start:replicated) with the real Litestream binary, against the built services.
const dir = tempDir('mosis-replicate-');
let env: NodeJS.ProcessEnv;
let running: Deployment | undefined;

afterEach(() => {
  killTree(running?.proc.child.pid);
  running = undefined;
});
afterAll(() => dir.cleanup());

/** Runs an ops command in-process against this test's deployment (stdout and stderr in `output`). */
const ops = (...argv: string[]) => runOps(argv, env);

/** The process tree `ops replicate` → litestream → launcher, which runs both services in its own process. */
function tree(d: Deployment) {
  const [litestream] = childPids(d.proc.child.pid!);
  const [launcher] = childPids(litestream!);
  return { litestream: litestream!, launcher: launcher!, children: childPids(launcher!) };
}

function apiKeys(path: string): number {
  return checkDatabase(path).rows.api_keys!;
}

const DEV = 'dev@example.com';
const PASSWORD = 'correct horse battery staple';
let token: string;

describe('ops replicate', () => {
  it('runs both services under litestream replicate -exec; on SIGTERM Litestream syncs every committed write last', async () => {
    // A semi-space other than the default: V8_SEMI_SPACE_MIB reaches the launcher's command line.
    env = { ...(await deploymentEnv(dir.path)), V8_SEMI_SPACE_MIB: '2' };
    running = await startReplicated(env);
    const { litestream, launcher, children } = tree(running);
    expect(commandLine(litestream)).toMatch(/litestream replicate -config \S+litestream\.yml -exec/);
    expect(commandLine(launcher)).toContain(`--max-semi-space-size=2 ${LAUNCHER}`);
    for (const [name, value] of Object.entries(MALLOC_ENV)) expect(environOf(launcher, name), name).toBe(value);
    for (const [name, value] of Object.entries(LITESTREAM_ENV)) expect(environOf(litestream, name), name).toBe(value);
    // One Node process for both services, Litestream's only child.
    expect(children).toEqual([]);
    // The services leave checkpoints to Litestream.
    expect(environOf(launcher, 'LITESTREAM')).toBe('true');

    // Writes committed just before the signal, well inside Litestream's 1 s sync interval.
    token = await register(running.core, DEV);
    await Promise.all(Array.from({ length: 20 }, (_, i) => createKey(running!.core, token, `key ${i}`)));
    const t0 = Date.now();
    const code = await stop(running);
    expect(code, running.proc.output()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const log = running.proc.output();
    expect(log).toContain('sending signal to exec process');
    expect(log.match(/"msg":"stopped"/g), log).toHaveLength(2);
    expect(log).toContain('litestream shut down');

    const restored = await ops('restore', '--to', `${dir.path}/restored1`);
    expect(restored.code, restored.output).toBe(0);
    expect(restored.output).toMatch(/portal\.db: integrity_check ok/);
    expect(restored.output).toMatch(/telemetry\.db: integrity_check ok/);
    expect(apiKeys(`${dir.path}/restored1/portal.db`)).toBe(20);
    // The device-hash secret is not in a database: it is kept beside the replicas and restored along.
    expect(restored.output).toContain('device-hash.secret copied');
    const secret = readFileSync(`${env.DATA_DIR}/device-hash.secret`, 'utf8');
    expect(readFileSync(`${env.BACKUP_DIR}/device-hash.secret`, 'utf8')).toBe(secret);
    expect(readFileSync(`${dir.path}/restored1/device-hash.secret`, 'utf8')).toBe(secret);
  });

  it('SIGTERM to the launcher stops both services, and Litestream still syncs before it exits 0', async () => {
    running = await startReplicated(env);
    await Promise.all(Array.from({ length: 10 }, (_, i) => createKey(running!.core, token, `late key ${i}`)));
    const code = await stop(running, tree(running).launcher);
    expect(code, running.proc.output()).toBe(0);
    expect(running.proc.output()).toContain('subprocess exited, litestream shutting down');

    const restored = await ops('restore', '--to', `${dir.path}/restored2`);
    expect(restored.code, restored.output).toBe(0);
    expect(apiKeys(`${dir.path}/restored2/portal.db`)).toBe(30);
  });

  it('Ctrl-C in a terminal (SIGINT to the whole process group) stops everything cleanly', async () => {
    const child = spawn(process.execPath, [CLI, 'replicate'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const handle = { child, output: () => out, exited };
    running = { proc: handle, core: '', ingest: '', env }; // cleaned up even if it never answers
    running = await started(handle, env);
    await createKey(running.core, token, 'before ctrl-c');
    process.kill(-child.pid!, 'SIGINT');
    expect((await exited).code, out).toBe(0);
    expect(out.match(/"msg":"stopped"/g)).toHaveLength(2);
    expect(out).toContain('litestream shut down');
    expect(out).not.toMatch(/level=ERROR/);
  });

  it('restores a missing database from its replica at start-up', async () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${env.DATA_DIR}/portal.db${suffix}`, { force: true });
    running = await startReplicated(env);
    expect(running.proc.output()).toContain('portal.db: restored from its replica');
    const login = await postJson(`${running.core}/v1/auth/login`, { email: DEV, password: PASSWORD });
    expect(login.status).toBe(200);
    expect(await stop(running)).toBe(0);
  });

  it('stops the services when Litestream dies, instead of running unreplicated', async () => {
    running = await startReplicated(env);
    const { litestream, launcher } = tree(running);
    process.kill(litestream, 'SIGKILL');
    await eventually('the services to exit', () => !alive(launcher));
    expect(running.proc.output()).toContain('Litestream (pid');
    // Stopped in order (ingest committed its queue), not killed.
    expect(running.proc.output().match(/"msg":"stopped"/g)).toHaveLength(2);
    expect((await running.proc.exited).code).not.toBe(0);
  });

  it('restore refuses a directory that already holds the databases, and needs --to', async () => {
    expect((await ops('restore')).code).toBe(2);
    const again = await ops('restore', '--to', `${dir.path}/restored1`);
    expect(again.code).toBe(1);
    expect(again.output).toContain('already in');
  });

  it('refuses a V8_SEMI_SPACE_MIB outside 1-64 before it restores or starts anything, and exits 2', async () => {
    const fresh = `${dir.path}/semi-space`;
    const bad = await runOps(['replicate'], { ...env, DATA_DIR: fresh, BACKUP_DIR: `${fresh}/backups`, V8_SEMI_SPACE_MIB: 'lots' });
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/V8_SEMI_SPACE_MIB/);
    expect(bad.output).not.toContain('replicating');
    expect(existsSync(fresh)).toBe(false);
  });

  it('restore-drill passes on healthy replicas and says what a restore would lose when they fall behind', async () => {
    const stats = await ops('stats');
    expect(stats.output).toMatch(/portal\.db[^\n]*\n[^\n]*\n  replica: \S+backups, generation [0-9a-f]{16}, last replicated \S+, lag [\d.]+ s/);
    const healthy = await ops('restore-drill');
    expect(healthy.code, healthy.output).toBe(0);
    expect(healthy.output).toMatch(/portal\.db: integrity_check ok[\s\S]*lag [\d.]+ s[\s\S]*would lose: nothing/);
    // The restore rate, from which the README's RTO figures come.
    expect(healthy.output).toMatch(/restored both databases from the newest replica in [\d.]+ s: [\d.]+ MiB at [\d.]+ MiB\/s, \d+ s per GiB/);
    expect(healthy.output).toMatch(/  replica file \(\S+\/backups\), generation [0-9a-f]{16}, /);

    // A write Litestream never saw (it is not running): the replica now lags the live database.
    const live = openDatabase(`${env.DATA_DIR}/portal.db`);
    live.exec('CREATE TABLE drill_probe (x); INSERT INTO drill_probe VALUES (1), (2), (3);');
    live.close();
    const behind = await ops('restore-drill', '--max-lag', '0');
    expect(behind.code, behind.output).toBe(1);
    expect(behind.output).toContain('would lose: 3 rows of drill_probe');
    expect(behind.output).toContain('drill FAILED');
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
