import type { DB } from '@mosis/shared';
import { randomUUID } from 'node:crypto';
import { perDb } from './prepare.js';

export interface SessionRow {
  id: string;
  developer_id: string;
  token_hash: string;
  expires_at: string;
}

const stmts = perDb((db) => ({
  insert: db.prepare<[string, string, string, string | null, string | null, string]>(
    'INSERT INTO sessions (id, developer_id, token_hash, ip_address, user_agent, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
  ),
  byHash: db.prepare<[string]>('SELECT id, developer_id, token_hash, expires_at FROM sessions WHERE token_hash = ?'),
  remove: db.prepare<[string]>('DELETE FROM sessions WHERE id = ?'),
  expired: db.prepare<[string]>('DELETE FROM sessions WHERE expires_at <= ?'),
}));

/** Stores a new session (its token only as a hash); returns its id. */
export function insertSession(
  db: DB,
  developerId: string,
  tokenHash: string,
  expiresAt: string,
  client: { ip: string | null; userAgent: string | null },
): string {
  const id = randomUUID();
  stmts(db).insert.run(id, developerId, tokenHash, client.ip, client.userAgent, expiresAt);
  return id;
}

export function sessionByHash(db: DB, tokenHash: string): SessionRow | undefined {
  return stmts(db).byHash.get(tokenHash) as SessionRow | undefined;
}

export function deleteSession(db: DB, id: string): void {
  stmts(db).remove.run(id);
}

/** Removes sessions past their expiry (run on login: cheap, indexed, keeps the table small). */
export function deleteExpiredSessions(db: DB, nowIso: string): number {
  return stmts(db).expired.run(nowIso).changes;
}
