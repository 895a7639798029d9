import { readMigrations } from '@mosis/shared';
import { fileURLToPath } from 'node:url';
import { Umzug, type UmzugStorage } from 'umzug';
import type { PgClient, PgPool } from './pool.js';

/** The telemetry schema on PostgreSQL: `migrations/telemetry-pg/NNNN_name.{up,down}.sql` (the same depth below the root from src/ and dist/). */
export const PG_MIGRATIONS_DIR = fileURLToPath(new URL('../../../../../migrations/telemetry-pg', import.meta.url));

/**
 * Key of the session advisory lock a migration run holds, so that processes starting together run the
 * migrations once: the second waits, then finds them applied. (Any constant; this one spells "mosis-tm".)
 */
const MIGRATION_LOCK_KEY = 0x6d6f7369735f746dn;

export interface PgMigrationStatus {
  executed: string[];
  pending: string[];
}

/**
 * Runs `fn` with an umzug migrator on one connection that holds the migration lock. Each migration runs in
 * one transaction together with its row in `schema_migrations`, so a failed one leaves nothing behind.
 */
async function withMigrator<T>(pool: PgPool, dir: string, fn: (m: Umzug<PgClient>) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        name text PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      // The record is written by the migration's own transaction (below), so the storage only reads.
      const storage: UmzugStorage = {
        async executed() {
          const res = await client.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
          return res.rows.map((r) => r.name);
        },
        async logMigration() {},
        async unlogMigration() {},
      };
      const tx = async (sql: string, record: string, values: unknown[]) => {
        await client.query('BEGIN');
        try {
          await client.query(sql);
          await client.query(record, values);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          throw err;
        }
      };
      const migrator = new Umzug<PgClient>({
        migrations: readMigrations(dir).map((m) => ({
          name: m.name,
          up: () => tx(m.up, 'INSERT INTO schema_migrations (name) VALUES ($1)', [m.name]),
          down: () => tx(m.down, 'DELETE FROM schema_migrations WHERE name = $1', [m.name]),
        })),
        storage,
        context: client,
        logger: undefined,
      });
      return await fn(migrator);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    }
  } finally {
    client.release();
  }
}

/** Applies every pending telemetry migration; returns the names applied. */
export async function migratePgUp(pool: PgPool, dir = PG_MIGRATIONS_DIR): Promise<string[]> {
  return withMigrator(pool, dir, async (m) => (await m.up()).map((x) => x.name));
}

/** Reverts migrations: the last one by default, or all down to `to` (0 = everything). */
export async function migratePgDown(pool: PgPool, to?: 0 | string, dir = PG_MIGRATIONS_DIR): Promise<string[]> {
  return withMigrator(pool, dir, async (m) => (await (to === undefined ? m.down() : m.down({ to }))).map((x) => x.name));
}

export async function pgMigrationStatus(pool: PgPool, dir = PG_MIGRATIONS_DIR): Promise<PgMigrationStatus> {
  return withMigrator(pool, dir, async (m) => {
    const [executed, pending] = [await m.executed(), await m.pending()];
    return { executed: executed.map((x) => x.name), pending: pending.map((x) => x.name) };
  });
}
