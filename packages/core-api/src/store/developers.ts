import type { DB } from '@mosis/shared';
import { randomUUID } from 'node:crypto';
import { perDb } from './prepare.js';

export interface DeveloperRow {
  id: string;
  email: string;
  name: string;
  password_hash: string | null;
  verified: number;
  created_at: string;
  updated_at: string;
}

const stmts = perDb((db) => ({
  insert: db.prepare<[string, string, string, string]>(
    'INSERT INTO developers (id, email, name, password_hash) VALUES (?, ?, ?, ?) RETURNING *',
  ),
  byEmail: db.prepare<[string]>('SELECT * FROM developers WHERE email = ?'),
  byId: db.prepare<[string]>('SELECT * FROM developers WHERE id = ?'),
}));

/** Creates a developer; returns undefined when the (lower-cased) email is taken. */
export function insertDeveloper(db: DB, email: string, name: string, passwordHash: string): DeveloperRow | undefined {
  try {
    return stmts(db).insert.get(randomUUID(), email, name, passwordHash) as DeveloperRow;
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return undefined;
    throw err;
  }
}

export function developerByEmail(db: DB, email: string): DeveloperRow | undefined {
  return stmts(db).byEmail.get(email) as DeveloperRow | undefined;
}

export function developerById(db: DB, id: string): DeveloperRow | undefined {
  return stmts(db).byId.get(id) as DeveloperRow | undefined;
}

/** The public shape of a developer: never the password hash. */
export function publicDeveloper(row: DeveloperRow) {
  return { id: row.id, email: row.email, name: row.name, verified: row.verified === 1, created_at: row.created_at };
}
