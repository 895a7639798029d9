import pg from 'pg';
import { DEFAULT_PG_POOL_MAX } from '../../limits.js';

/**
 * The one place connections to the telemetry PostgreSQL are made: a small pool (PostgreSQL serves each
 * connection with a process; a few suffice for group commit, maintenance and reads).
 */

/** A connection idle this long is closed (the pool reopens on demand). */
const PG_IDLE_TIMEOUT_MS = 30_000;
/** Connecting longer than this fails the query that needed it, rather than hanging it. */
const PG_CONNECT_TIMEOUT_MS = 10_000;

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;

export interface PgPoolOptions {
  /** Connections at most (default DEFAULT_PG_POOL_MAX). */
  max?: number;
  /** Shown in pg_stat_activity, so an operator sees which service holds a connection. */
  applicationName?: string;
  /**
   * A session left idle inside a transaction this long is ended by the server: bounds how long a
   * stalled writer can hold back the settled position (ms; default none).
   */
  idleInTransactionTimeoutMs?: number;
  /** Connecting (or waiting for a free connection) longer than this fails (ms; default PG_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number;
}

// bigint columns (int8) come back as JS bigint: device ids use all 64 bits, positions are compared exactly.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => BigInt(v));

/** Opens a pool on `url` (postgres://user:password@host:port/database). Connections open on first use. */
export function openPgPool(url: string, opts: PgPoolOptions = {}): PgPool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? DEFAULT_PG_POOL_MAX,
    idleTimeoutMillis: PG_IDLE_TIMEOUT_MS,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? PG_CONNECT_TIMEOUT_MS,
    application_name: opts.applicationName ?? 'mosis',
    ...(opts.idleInTransactionTimeoutMs ? { idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs } : {}),
  });
  // A connection the server closed (restart, failover, a terminated session) must not crash the process:
  // idle, the pool drops it; checked out, the query in flight rejects and the caller handles that. Without
  // these listeners node-postgres emits an unhandled 'error'.
  pool.on('error', () => {});
  pool.on('connect', (client) => void client.on('error', () => {}));
  return pool;
}

/** Runs `fn` in one transaction on one pooled connection: COMMIT on success, ROLLBACK on a throw. */
export async function inTransaction<T>(pool: PgPool, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** A URL with its password hidden, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}
