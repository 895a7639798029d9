import type { DB } from '@mosis/shared';
import { randomUUID } from 'node:crypto';
import { jsonArray, perDb } from './prepare.js';

export type AppStatus = 'draft' | 'published' | 'suspended';

export interface AppRow {
  seq: number;
  id: string;
  developer_id: string;
  package_id: string;
  name: string;
  description: string | null;
  category: string | null;
  tags: string;
  status: AppStatus;
  created_at: string;
  updated_at: string;
}

export interface AppFields {
  name: string;
  description: string | null;
  category: string | null;
  tags: string[];
}

const stmts = perDb((db) => ({
  insert: db.prepare<[string, string, string, string, string | null, string | null, string]>(
    `INSERT INTO apps (id, developer_id, package_id, name, description, category, tags)
     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  ),
  byId: db.prepare<[string]>('SELECT * FROM apps WHERE id = ?'),
  byPackage: db.prepare<[string]>('SELECT * FROM apps WHERE package_id = ?'),
  owned: db.prepare<[string, string]>('SELECT * FROM apps WHERE id = ? AND developer_id = ?'),
  firstPage: db.prepare<[string, number]>('SELECT * FROM apps WHERE developer_id = ? ORDER BY seq DESC LIMIT ?'),
  nextPage: db.prepare<[string, number, number]>('SELECT * FROM apps WHERE developer_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
  update: db.prepare<[string, string | null, string | null, string, string, string]>(
    `UPDATE apps SET name = ?, description = ?, category = ?, tags = ?, updated_at = ?
     WHERE id = ? RETURNING *`,
  ),
  setStatus: db.prepare<[string, string, string]>('UPDATE apps SET status = ?, updated_at = ? WHERE id = ? RETURNING *'),
  remove: db.prepare<[string, string]>('DELETE FROM apps WHERE id = ? AND developer_id = ?'),
}));

/** Creates an app; undefined when the package_id is taken (by anyone). */
export function insertApp(db: DB, developerId: string, packageId: string, f: AppFields): AppRow | undefined {
  try {
    return stmts(db).insert.get(randomUUID(), developerId, packageId, f.name, f.description, f.category, JSON.stringify(f.tags)) as AppRow;
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return undefined;
    throw err;
  }
}

export function appById(db: DB, id: string): AppRow | undefined {
  return stmts(db).byId.get(id) as AppRow | undefined;
}

export function appByPackage(db: DB, packageId: string): AppRow | undefined {
  return stmts(db).byPackage.get(packageId) as AppRow | undefined;
}

/** The app if `developerId` owns it; undefined for another developer's app and for no app alike. */
export function ownedApp(db: DB, developerId: string, id: string): AppRow | undefined {
  return stmts(db).owned.get(id, developerId) as AppRow | undefined;
}

/** A page of a developer's apps, newest first; `before` is the seq of the last row seen. */
export function listApps(db: DB, developerId: string, limit: number, before?: number): AppRow[] {
  const s = stmts(db);
  return (before === undefined ? s.firstPage.all(developerId, limit) : s.nextPage.all(developerId, before, limit)) as AppRow[];
}

export function updateApp(db: DB, id: string, f: AppFields, nowIso: string): AppRow {
  return stmts(db).update.get(f.name, f.description, f.category, JSON.stringify(f.tags), nowIso, id) as AppRow;
}

export function setAppStatus(db: DB, id: string, status: AppStatus, nowIso: string): AppRow | undefined {
  return stmts(db).setStatus.get(status, nowIso, id) as AppRow | undefined;
}

/** Deletes the caller's app; its versions go with it (ON DELETE CASCADE), its search entry by trigger. */
export function deleteApp(db: DB, developerId: string, id: string): boolean {
  return stmts(db).remove.run(id, developerId).changes === 1;
}

/** The public shape of an app (without its latest version). */
export function publicApp(row: AppRow) {
  return {
    id: row.id,
    package_id: row.package_id,
    name: row.name,
    description: row.description,
    category: row.category,
    tags: jsonArray(row.tags),
    status: row.status,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
