import { PG_READ_TIMEOUT_MS } from '../../limits.js';
import type { PgClient, PgPool } from './pool.js';

/** SQLSTATE of a table that is not there (yet): undefined_table. (A missing column is a bug here, not a state: 0001 has them all.) */
const UNDEFINED_TABLE = '42P01';

/** Whether `err` says a table or column is not there. */
export function isMissingSchema(err: unknown): boolean {
  return (err as { code?: string })?.code === UNDEFINED_TABLE;
}

/**
 * Runs `read` in one read-only REPEATABLE READ transaction, so everything it reads comes from one snapshot
 * (a writer's commit lands wholly before or after it), bounded by PG_READ_TIMEOUT_MS. A table that is not
 * there (telemetry not migrated on this server yet, a partition dropped a moment ago) answers `empty()`.
 */
export async function inReadSnapshot<T>(pool: PgPool, read: (c: PgClient) => Promise<T>, empty: () => T): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${PG_READ_TIMEOUT_MS}`);
    const out = await read(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    if (isMissingSchema(err)) return empty();
    throw new Error(`telemetry read: ${(err as Error).message}`, { cause: err });
  } finally {
    client.release();
  }
}

/** A count or sum as a JS number (bigint and numeric columns come back as bigint or text). */
export function num(v: unknown): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v);
}

/** A stored device hash (signed 64-bit) as the API shows it: 16 hex digits. */
export function deviceHex(v: bigint | string): string {
  return BigInt.asUintN(64, BigInt(v)).toString(16).padStart(16, '0');
}

/** The dim_apps id of a portal app, or undefined when nothing of it is stored. */
export async function pgDimApp(c: PgClient, appId: string): Promise<number | undefined> {
  const res = await c.query<{ id: number }>('SELECT id FROM dim_apps WHERE app_id = $1', [appId]);
  return res.rows[0]?.id;
}
