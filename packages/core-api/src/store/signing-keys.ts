import type { DB } from '@mosis/shared';
import { randomUUID } from 'node:crypto';
import { perDb } from './prepare.js';

export interface SigningKeyRow {
  /** Creation order (rowid): what lists order and page on. */
  seq: number;
  id: string;
  developer_id: string;
  name: string;
  public_key: string;
  fingerprint: string;
  is_active: number;
  created_at: string;
}

const stmts = perDb((db) => ({
  insert: db.prepare<[string, string, string, string, string]>(
    'INSERT INTO signing_keys (id, developer_id, name, public_key, fingerprint) VALUES (?, ?, ?, ?, ?) RETURNING *',
  ),
  activeByFingerprint: db.prepare<[string, string]>(
    'SELECT id FROM signing_keys WHERE developer_id = ? AND fingerprint = ? AND is_active = 1',
  ),
  count: db.prepare<[string]>('SELECT count(*) AS n FROM signing_keys WHERE developer_id = ?'),
  firstPage: db.prepare<[string, number]>('SELECT * FROM signing_keys WHERE developer_id = ? ORDER BY seq DESC LIMIT ?'),
  nextPage: db.prepare<[string, number, number]>(
    'SELECT * FROM signing_keys WHERE developer_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
  ),
  deactivate: db.prepare<[string, string]>(
    'UPDATE signing_keys SET is_active = 0 WHERE id = ? AND developer_id = ? AND is_active = 1 RETURNING *',
  ),
}));

export function insertSigningKey(db: DB, developerId: string, name: string, publicKey: string, fingerprint: string): SigningKeyRow {
  return stmts(db).insert.get(randomUUID(), developerId, name, publicKey, fingerprint) as SigningKeyRow;
}

export function hasActiveFingerprint(db: DB, developerId: string, fingerprint: string): boolean {
  return stmts(db).activeByFingerprint.get(developerId, fingerprint) !== undefined;
}

export function countSigningKeys(db: DB, developerId: string): number {
  return (stmts(db).count.get(developerId) as { n: number }).n;
}

/** A page of a developer's signing keys, newest first; `before` is the seq of the last row seen. */
export function listSigningKeys(db: DB, developerId: string, limit: number, before?: number): SigningKeyRow[] {
  const s = stmts(db);
  return (before === undefined ? s.firstPage.all(developerId, limit) : s.nextPage.all(developerId, before, limit)) as SigningKeyRow[];
}

/** Deactivates the caller's active key; undefined when not theirs or already inactive. */
export function deactivateSigningKey(db: DB, developerId: string, id: string): SigningKeyRow | undefined {
  return stmts(db).deactivate.get(id, developerId) as SigningKeyRow | undefined;
}

export function publicSigningKey(row: SigningKeyRow) {
  return {
    id: row.id,
    name: row.name,
    public_key: row.public_key,
    fingerprint: row.fingerprint,
    active: row.is_active === 1,
    created_at: row.created_at,
  };
}

const keyReads = perDb((db) => ({
  active: db.prepare<[string]>('SELECT * FROM signing_keys WHERE developer_id = ? AND is_active = 1'),
  byId: db.prepare<[string]>('SELECT * FROM signing_keys WHERE id = ?'),
}));

/**
 * Registers a key unless its fingerprint is active on any account (the partial unique index
 * idx_signing_keys_active_fingerprint decides, so two racing registrations cannot both win): undefined then.
 */
export function insertSigningKeyUnlessActive(
  db: DB,
  developerId: string,
  name: string,
  publicKey: string,
  fingerprint: string,
): SigningKeyRow | undefined {
  try {
    return insertSigningKey(db, developerId, name, publicKey, fingerprint);
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return undefined;
    throw err;
  }
}

/** A developer's active signing keys: the ones a new upload may be signed by. */
export function activeSigningKeys(db: DB, developerId: string): SigningKeyRow[] {
  return keyReads(db).active.all(developerId) as SigningKeyRow[];
}

/** Any signing key by id, active or not (a version keeps naming the key that verified it). */
export function signingKeyById(db: DB, id: string): SigningKeyRow | undefined {
  return keyReads(db).byId.get(id) as SigningKeyRow | undefined;
}
