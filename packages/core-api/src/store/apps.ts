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
  reserve: db.prepare<[string, string, string]>(
    `INSERT INTO package_reservations (package_id, developer_id, app_id) VALUES (?, ?, ?)
     ON CONFLICT (package_id) DO UPDATE SET app_id = excluded.app_id, reserved_at = excluded.reserved_at`,
  ),
  reservedBy: db.prepare<[string]>('SELECT developer_id FROM package_reservations WHERE package_id = ?'),
}));

/** Creates an app; undefined when the package_id is taken by a live app (anyone's). */
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

/**
 * Deletes an app; its versions go with it (ON DELETE CASCADE), its search entry by trigger. Its package_id
 * stays reserved to its developer for good (see packageReservedBy); call it inside the caller's transaction
 * so that the app never goes without its reservation.
 */
export function deleteApp(db: DB, app: AppRow): boolean {
  const s = stmts(db);
  s.reserve.run(app.package_id, app.developer_id, app.id);
  return s.remove.run(app.id, app.developer_id).changes === 1;
}

/** The developer a deleted app's package_id is reserved to; undefined when no deleted app held it. */
export function packageReservedBy(db: DB, packageId: string): string | undefined {
  return (stmts(db).reservedBy.get(packageId) as { developer_id: string } | undefined)?.developer_id;
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
