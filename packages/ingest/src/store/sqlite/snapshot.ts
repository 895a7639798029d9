import type { DB } from '@mosis/shared';
import type { Statement } from 'better-sqlite3';

/** Statements kept per connection at most (partitions × query shapes); cleared whole beyond. */
const MAX_CACHED_STATEMENTS = 256;
const cache = new WeakMap<DB, Map<string, Statement>>();

/** A prepared statement of `db` for `sql`, prepared once (table names vary by partition, so SQL text is the key). */
export function statement(db: DB, sql: string): Statement {
  let stmts = cache.get(db);
  if (!stmts) cache.set(db, (stmts = new Map()));
  let s = stmts.get(sql);
  if (!s) {
    if (stmts.size >= MAX_CACHED_STATEMENTS) stmts.clear();
    s = db.prepare(sql);
    stmts.set(sql, s);
  }
  return s;
}

/**
 * Runs `read` in one read transaction, so everything it reads comes from one snapshot (a commit of the
 * writer lands wholly before or wholly after it). A table or column that is not there (telemetry.db not
 * migrated yet, a partition dropped by retention a moment ago) answers `empty`.
 */
export function inSnapshot<T>(db: DB, read: () => T, empty: () => T): T {
  try {
    return db.transaction(read)();
  } catch (err) {
    if (/no such (table|column)/i.test((err as Error).message)) {
      cache.get(db)?.clear();
      return empty();
    }
    throw err;
  }
}

/** The id of a portal app in dim_apps, or undefined when ingest has stored nothing of it. */
export function dimApp(db: DB, appId: string): number | undefined {
  return statement(db, 'SELECT id FROM dim_apps WHERE app_id = ?').pluck().get(appId) as number | undefined;
}

/** A 16-byte UUID as its text form. */
export function uuidText(b: Buffer | null): string | null {
  if (!b) return null;
  const h = b.toString('hex');
  return h.length === 32 ? `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` : h;
}
