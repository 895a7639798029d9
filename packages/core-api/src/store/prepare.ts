import type { DB } from '@mosis/shared';

/**
 * Prepares a store's statements once per database connection: `const s = perDb((db) => ({ get: db.prepare(...) }))`
 * then `s(db).get.get(...)`. Tests open many databases, so the cache is keyed by connection, not global.
 */
export function perDb<T>(build: (db: DB) => T): (db: DB) => T {
  const cache = new WeakMap<DB, T>();
  return (db) => {
    let value = cache.get(db);
    if (!value) {
      value = build(db);
      cache.set(db, value);
    }
    return value;
  };
}

/** Now as the ISO-8601 UTC text with milliseconds every table stores. */
export function nowIso(now = Date.now()): string {
  return new Date(now).toISOString();
}

/** Parses a JSON array column; a corrupt value reads as empty rather than failing the request. */
export function jsonArray(text: string | null): string[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}
