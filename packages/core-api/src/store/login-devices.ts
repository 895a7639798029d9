import type { DB } from '@mosis/shared';
import { perDb } from './prepare.js';

/** A device token's row: which developer it belongs to and when it last logged in. */
export interface LoginDeviceRow {
  seq: number;
  developer_id: string;
  last_used_at: string;
}

const stmts = perDb((db) => ({
  insert: db.prepare<[string, string, string, string]>(
    'INSERT INTO login_devices (developer_id, token_hash, created_at, last_used_at) VALUES (?, ?, ?, ?)',
  ),
  byHash: db.prepare<[string]>('SELECT seq, developer_id, last_used_at FROM login_devices WHERE token_hash = ?'),
  touch: db.prepare<[string, number]>('UPDATE login_devices SET last_used_at = ? WHERE seq = ?'),
  // Stale ones, then all but the `keep` most recently used.
  prune: db.prepare<[string, string, string, number]>(
    `DELETE FROM login_devices WHERE developer_id = ? AND (last_used_at <= ? OR seq NOT IN (
       SELECT seq FROM login_devices WHERE developer_id = ? ORDER BY last_used_at DESC, seq DESC LIMIT ?))`,
  ),
}));

/** The device whose token hashes to `tokenHash`, if it belongs to `developerId` and was used after `freshAfter`. */
export function loginDevice(db: DB, developerId: string, tokenHash: string, freshAfter: string): LoginDeviceRow | undefined {
  const row = stmts(db).byHash.get(tokenHash) as LoginDeviceRow | undefined;
  return row && row.developer_id === developerId && row.last_used_at > freshAfter ? row : undefined;
}

/** Stores a new device token (its hash), keeping the developer's devices to `keep`, none older than `freshAfter`. */
export function insertLoginDevice(db: DB, developerId: string, tokenHash: string, nowIso: string, keep: number, freshAfter: string): void {
  const s = stmts(db);
  s.insert.run(developerId, tokenHash, nowIso, nowIso);
  s.prune.run(developerId, freshAfter, developerId, keep);
}

export function touchLoginDevice(db: DB, seq: number, nowIso: string): void {
  stmts(db).touch.run(nowIso, seq);
}
