import type { DB } from '@mosis/shared';
import { randomUUID } from 'node:crypto';
import type { Permission } from '../auth/permissions.js';
import { jsonArray, perDb } from './prepare.js';

export interface ApiKeyRow {
  /** Creation order (rowid): what lists order and page on. */
  seq: number;
  id: string;
  developer_id: string;
  name: string;
  key_hash: string;
  key_prefix: string;
  permissions: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
}

const stmts = perDb((db) => ({
  insert: db.prepare<[string, string, string, string, string, string, string | null]>(
    `INSERT INTO api_keys (id, developer_id, name, key_hash, key_prefix, permissions, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  ),
  byHash: db.prepare<[string]>('SELECT * FROM api_keys WHERE key_hash = ?'),
  count: db.prepare<[string]>('SELECT count(*) AS n FROM api_keys WHERE developer_id = ?'),
  owned: db.prepare<[string, string]>('SELECT * FROM api_keys WHERE id = ? AND developer_id = ?'),
  firstPage: db.prepare<[string, number]>('SELECT * FROM api_keys WHERE developer_id = ? ORDER BY seq DESC LIMIT ?'),
  nextPage: db.prepare<[string, number, number]>(
    'SELECT * FROM api_keys WHERE developer_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
  ),
  revoke: db.prepare<[string, string, string]>(
    'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND developer_id = ? AND revoked_at IS NULL RETURNING *',
  ),
  // The WHERE repeats the staleness test so two concurrent requests cannot both write.
  touch: db.prepare<[string, string, string]>(
    'UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
  ),
}));

export function insertApiKey(
  db: DB,
  k: { developerId: string; name: string; hash: string; prefix: string; permissions: Permission[]; expiresAt: string | null },
): ApiKeyRow {
  return stmts(db).insert.get(randomUUID(), k.developerId, k.name, k.hash, k.prefix, JSON.stringify(k.permissions), k.expiresAt) as ApiKeyRow;
}

export function apiKeyByHash(db: DB, hash: string): ApiKeyRow | undefined {
  return stmts(db).byHash.get(hash) as ApiKeyRow | undefined;
}

export function countApiKeys(db: DB, developerId: string): number {
  return (stmts(db).count.get(developerId) as { n: number }).n;
}

/** The developer's key `id`, revoked or not; undefined when it is not theirs. */
export function ownedApiKey(db: DB, developerId: string, id: string): ApiKeyRow | undefined {
  return stmts(db).owned.get(id, developerId) as ApiKeyRow | undefined;
}

/** A page of a developer's keys, newest first; `before` is the seq of the last row seen. */
export function listApiKeys(db: DB, developerId: string, limit: number, before?: number): ApiKeyRow[] {
  const s = stmts(db);
  return (before === undefined ? s.firstPage.all(developerId, limit) : s.nextPage.all(developerId, before, limit)) as ApiKeyRow[];
}

/** Revokes the caller's key; undefined when it is not theirs or already revoked. */
export function revokeApiKey(db: DB, developerId: string, id: string, nowIso: string): ApiKeyRow | undefined {
  return stmts(db).revoke.get(nowIso, id, developerId) as ApiKeyRow | undefined;
}

/** Sets last_used_at = now unless it is newer than `staleBefore`. */
export function touchApiKey(db: DB, id: string, nowIso: string, staleBefore: string): void {
  stmts(db).touch.run(nowIso, id, staleBefore);
}

/** The public shape of a key: its display prefix, never the key or its hash. */
export function publicApiKey(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.key_prefix,
    permissions: jsonArray(row.permissions) as Permission[],
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
    created_at: row.created_at,
  };
}
