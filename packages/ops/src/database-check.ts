import { openDatabase } from '@mosis/shared';

/** What a restored (or live) database looks like: its integrity and how many rows each table holds. */
export interface DatabaseReport {
  /** `ok`, or the first problems `PRAGMA integrity_check` found. */
  integrity: string;
  /** Rows per table, by name, in name order. Litestream's own bookkeeping tables are left out. */
  rows: Record<string, number>;
}

/** Tables that are not the application's: SQLite's internals and Litestream's (`_litestream_seq`, `_lock`). */
const INTERNAL_TABLES = /^(sqlite_|_litestream_)/;
/** Suffixes of the shadow tables behind an FTS5 table (counted through the virtual table itself). */
const FTS5_SHADOWS = ['_data', '_idx', '_content', '_docsize', '_config'];
/** How many problems integrity_check reports at most; one is enough to fail, a few help diagnose. */
const INTEGRITY_MAX_ERRORS = 10;

/**
 * Opens `path` read-only, runs `PRAGMA integrity_check` (unless `integrity: false`: a live database
 * needs only its counts) and counts the rows of every table.
 */
export function checkDatabase(path: string, opts: { integrity?: boolean } = {}): DatabaseReport {
  const db = openDatabase(path, { readonly: true });
  try {
    let integrity = 'skipped';
    if (opts.integrity ?? true) {
      const problems = db.pragma(`integrity_check(${INTEGRITY_MAX_ERRORS})`) as { integrity_check: string }[];
      integrity = problems.map((p) => p.integrity_check).join('; ');
    }
    const tables = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
      sql: string | null;
    }[];
    const virtual = tables.filter((t) => /^CREATE VIRTUAL TABLE/i.test(t.sql ?? '')).map((t) => t.name);
    const shadows = new Set(virtual.flatMap((v) => FTS5_SHADOWS.map((s) => v + s)));
    const rows: Record<string, number> = {};
    for (const { name } of tables.filter((t) => !INTERNAL_TABLES.test(t.name) && !shadows.has(t.name))) {
      // Names come from sqlite_master itself; identifiers cannot be bound as parameters.
      rows[name] = db.prepare(`SELECT count(*) FROM "${name.replaceAll('"', '""')}"`).pluck().get() as number;
    }
    return { integrity, rows };
  } finally {
    db.close();
  }
}

/** One line per table, `  name  rows`, aligned, for the ops commands' output. */
export function formatRows(rows: Record<string, number>): string[] {
  const width = Math.max(0, ...Object.keys(rows).map((n) => n.length));
  return Object.entries(rows).map(([name, n]) => `  ${name.padEnd(width)}  ${n}`);
}
