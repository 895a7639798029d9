import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, inject, it } from 'vitest';
import { migratePgUp } from './migrate.js';
import { openPgPool, type PgPool } from './pool.js';
import type { PgTestServer } from './test-server.js';

/** Test helpers for the PostgreSQL backend: a fresh database per test file on the run's one server. */

const server: PgTestServer = inject('mosisPg') ?? { url: '', error: 'the vitest globalSetup (store/postgres/test-server.ts) did not run' };

/** Whether this run has a PostgreSQL server (see test-server.ts); when not, `describePg` skips and says why. */
export const pgAvailable = server.url !== '';

const required = process.env.MOSIS_REQUIRE_POSTGRES === '1';
let warned = false;
/**
 * `describe` for PostgreSQL tests. When the run has no server it is skipped with the reason printed once,
 * or, under MOSIS_REQUIRE_POSTGRES=1 (CI), replaced by one failing test that gives the reason.
 */
export const describePg = (name: string, fn: () => void): void => {
  if (pgAvailable) {
    describe(name, fn);
    return;
  }
  if (required) {
    describe(name, () => {
      it('has a PostgreSQL server', () => {
        throw new Error(`MOSIS_REQUIRE_POSTGRES=1 but the run has no PostgreSQL server: ${server.error}`);
      });
    });
    return;
  }
  if (!warned) {
    warned = true;
    console.log(`PostgreSQL tests skipped: ${server.error} (MOSIS_REQUIRE_POSTGRES=1 makes this a failure)`);
  }
  describe.skip(name, fn);
};

export interface TestPgDatabase {
  /** Connection URL of the new database. */
  url: string;
  name: string;
  /** Drops the database (closing any connection still open to it). */
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Creates an empty database on the run's server. Call in beforeAll; `drop()` it in afterAll. */
export async function createTestPgDatabase(prefix = 'mosis_test'): Promise<TestPgDatabase> {
  if (!pgAvailable) throw new Error(`no PostgreSQL server for this run: ${server.error}`);
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

/** A fresh database with the telemetry schema applied, and a pool on it; `close()` ends both. */
export async function createMigratedPgDatabase(): Promise<TestPgDatabase & { pool: PgPool; close(): Promise<void> }> {
  const db = await createTestPgDatabase();
  const pool = openPgPool(db.url, { applicationName: 'mosis-test' });
  await migratePgUp(pool);
  return {
    ...db,
    pool,
    close: async () => {
      await pool.end();
      await db.drop();
    },
  };
}
