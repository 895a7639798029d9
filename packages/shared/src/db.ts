import Database from 'better-sqlite3';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type DB = Database.Database;

/** How long a connection waits for a lock before SQLITE_BUSY. Litestream holds brief locks while it syncs. */
export const BUSY_TIMEOUT_MS = 5_000;
/** WAL pages after which SQLite checkpoints on its own when Litestream is not running (the SQLite default). */
export const WAL_AUTOCHECKPOINT_PAGES = 1_000;
/** Per-connection page cache: 64 MiB (negative = KiB). Enough to keep the hot index pages of a month in memory. */
export const CACHE_SIZE_KIB = 64 * 1024;

export interface OpenOptions {
  /** Open read-only (the other service's database). The file must exist. */
  readonly?: boolean;
  /**
   * Litestream is replicating this file: leave checkpoints to it (it checkpoints when the WAL grows and
   * must see every WAL frame before it is copied back into the database).
   */
  litestream?: boolean;
}

/**
 * Opens a SQLite database with the pragmas this workload needs. The order matters:
 * busy_timeout first, so even the pragmas below wait for a lock instead of failing with SQLITE_BUSY.
 */
export function openDatabase(path: string, opts: OpenOptions = {}): DB {
  if (!opts.readonly) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!opts.readonly) {
      // Must precede the first table: auto_vacuum can only change on an empty database (or with VACUUM).
      // INCREMENTAL lets retention hand freed pages back to the filesystem in small steps.
      if (isEmpty(db)) db.pragma('auto_vacuum = INCREMENTAL');
      // WAL: readers never block the writer and the writer never blocks readers; Litestream requires it.
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode: a commit survives a process crash; only an OS crash or power loss can roll back
      // the last transactions (they stay consistent). Litestream recommends it.
      db.pragma('synchronous = NORMAL');
      // With Litestream running, it alone checkpoints; an application checkpoint could copy WAL frames into
      // the database before Litestream has shipped them. Without it, SQLite's own auto-checkpoint keeps the
      // WAL bounded.
      db.pragma(`wal_autocheckpoint = ${opts.litestream ? 0 : WAL_AUTOCHECKPOINT_PAGES}`);
    }
    db.pragma('foreign_keys = ON');
    db.pragma(`cache_size = -${CACHE_SIZE_KIB}`);
    // Sorts and temporary b-trees (GROUP BY, DISTINCT) in memory, not in temp files on a slow NAS disk.
    db.pragma('temp_store = MEMORY');
  } catch (err) {
    db.close();
    throw new Error(`open ${path}: ${(err as Error).message}`, { cause: err });
  }
  return db;
}

function isEmpty(db: DB): boolean {
  return (db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n === 0;
}

/**
 * True when the database answers a query and its file can be written (for /readyz). It does not take the
 * write lock: that could wait out busy_timeout behind another writer and stall the event loop.
 */
export function isWritable(db: DB): boolean {
  try {
    if (!isReadable(db) || db.readonly) return false;
    if (!db.memory) accessSync(db.name, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** True when the database is open and answers a query. */
export function isReadable(db: DB): boolean {
  try {
    return db.open && db.prepare('SELECT 1 AS ok').get() !== undefined;
  } catch {
    return false;
  }
}
