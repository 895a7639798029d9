import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Umzug, UmzugStorage } from 'umzug';
import type { DB } from './db.js';

/** A migration file pair: `NNNN_name.up.sql` and `NNNN_name.down.sql`. */
const MIGRATION_FILE = /^(\d{4,})_([a-z0-9_]+)\.up\.sql$/;

export interface MigratorOptions {
  /** Folder with the `.up.sql` / `.down.sql` pairs. */
  dir: string;
  /**
   * Work a migration needs that no SQL file can name: tables created at run time (telemetry's month
   * partitions). Keyed by migration name; each runs inside that migration's transaction, before or after
   * its SQL.
   */
  beforeUp?: Record<string, (db: DB) => void>;
  afterUp?: Record<string, (db: DB) => void>;
  beforeDown?: Record<string, (db: DB) => void>;
}

export interface MigrationStatus {
  executed: string[];
  pending: string[];
}

/** Lists the migrations in `dir`, ordered by their numeric prefix, each with its up and down SQL. */
export function readMigrations(dir: string) {
  if (!existsSync(dir)) throw new Error(`migrations folder not found: ${dir}`);
  return readdirSync(dir)
    .filter((f) => MIGRATION_FILE.test(f))
    .sort((a, b) => Number(MIGRATION_FILE.exec(a)![1]) - Number(MIGRATION_FILE.exec(b)![1]) || a.localeCompare(b))
    .map((file) => {
      const name = file.replace(/\.up\.sql$/, '');
      const downFile = join(dir, `${name}.down.sql`);
      if (!existsSync(downFile)) throw new Error(`migration ${name} has no down file (${downFile})`);
      return { name, up: readFileSync(join(dir, file), 'utf8'), down: readFileSync(downFile, 'utf8') };
    });
}

/** Creates the migration bookkeeping table if it is not there yet. */
function ensureMigrationsTable(db: DB): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    name TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  )`);
}

/**
 * Names of the migrations in `opts.dir` not applied to `db`, in order, read without umzug: a service at
 * start asks this first and loads umzug only when there is something to apply.
 */
export function pendingMigrations(db: DB, opts: MigratorOptions): string[] {
  ensureMigrationsTable(db);
  const applied = new Set(db.prepare('SELECT name FROM schema_migrations').pluck().all() as string[]);
  return readMigrations(opts.dir)
    .map((m) => m.name)
    .filter((name) => !applied.has(name));
}

/**
 * An umzug migrator over plain SQL files. Each migration runs in one transaction together with its row in
 * `schema_migrations`, so a failed migration leaves neither its tables nor its record behind.
 *
 * umzug is imported here, when a migrator is needed, not with this module: it and its command-line
 * dependencies hold about 22 MiB of RSS, which a service that finds nothing to migrate never loads.
 */
export async function createMigrator(db: DB, opts: MigratorOptions): Promise<Umzug<DB>> {
  const { Umzug } = await import('umzug');
  ensureMigrationsTable(db);
  const record = db.prepare('INSERT INTO schema_migrations (name) VALUES (?)');
  const unrecord = db.prepare('DELETE FROM schema_migrations WHERE name = ?');

  // The record is written by the migration's own transaction (above), so the storage only reads.
  const storage: UmzugStorage = {
    async executed() {
      return (db.prepare('SELECT name FROM schema_migrations ORDER BY name').all() as { name: string }[]).map(
        (r) => r.name,
      );
    },
    async logMigration() {},
    async unlogMigration() {},
  };

  return new Umzug({
    migrations: readMigrations(opts.dir).map((m) => ({
      name: m.name,
      up: async () => {
        db.transaction(() => {
          opts.beforeUp?.[m.name]?.(db);
          db.exec(m.up);
          opts.afterUp?.[m.name]?.(db);
          record.run(m.name);
        }).immediate();
      },
      down: async () => {
        db.transaction(() => {
          opts.beforeDown?.[m.name]?.(db);
          db.exec(m.down);
          unrecord.run(m.name);
        }).immediate();
      },
    })),
    storage,
    context: db,
    logger: undefined,
  });
}

/** Applies every pending migration; returns the names applied (without loading umzug when there are none). */
export async function migrateUp(db: DB, opts: MigratorOptions): Promise<string[]> {
  if (pendingMigrations(db, opts).length === 0) return [];
  const done = await (await createMigrator(db, opts)).up();
  return done.map((m) => m.name);
}

/** Reverts migrations: the last one by default, or all down to `to` (0 = everything). */
export async function migrateDown(db: DB, opts: MigratorOptions, to?: 0 | string): Promise<string[]> {
  const migrator = await createMigrator(db, opts);
  const done = to === undefined ? await migrator.down() : await migrator.down({ to });
  return done.map((m) => m.name);
}

export async function migrationStatus(db: DB, opts: MigratorOptions): Promise<MigrationStatus> {
  const migrator = await createMigrator(db, opts);
  const [executed, pending] = await Promise.all([migrator.executed(), migrator.pending()]);
  return { executed: executed.map((m) => m.name), pending: pending.map((m) => m.name) };
}
