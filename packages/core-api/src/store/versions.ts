import type { DB } from '@mosis/shared';
import { randomUUID } from 'node:crypto';
import { jsonArray, perDb } from './prepare.js';

export type VersionStatus = 'draft' | 'review' | 'approved' | 'published' | 'rejected';

export interface VersionRow {
  /** Creation order (rowid): the review queue's order. */
  seq: number;
  id: string;
  app_id: string;
  version_code: number;
  version_name: string;
  package_url: string;
  package_size: number;
  signature: string;
  permissions: string;
  min_mosis_version: string | null;
  release_notes: string | null;
  status: VersionStatus;
  review_notes: string | null;
  published_at: string | null;
  created_at: string;
  /** The verified package (hex SHA-256), the signing key that verified it, and when: NULL until then. */
  package_sha256: string | null;
  signing_key_id: string | null;
  package_uploaded_at: string | null;
}

export interface VersionFields {
  version_code: number;
  version_name: string;
  package_url: string;
  package_size: number;
  signature: string;
  permissions: string[];
  min_mosis_version: string | null;
  release_notes: string | null;
}

const stmts = perDb((db) => ({
  insert: db.prepare<[string, string, number, string, string, number, string, string, string | null, string | null]>(
    `INSERT INTO app_versions (id, app_id, version_code, version_name, package_url, package_size, signature,
       permissions, min_mosis_version, release_notes)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  ),
  maxCode: db.prepare<[string]>('SELECT max(version_code) AS code FROM app_versions WHERE app_id = ?'),
  byCode: db.prepare<[string, number]>('SELECT * FROM app_versions WHERE app_id = ? AND version_code = ?'),
  latest: db.prepare<[string]>('SELECT * FROM app_versions WHERE app_id = ? ORDER BY version_code DESC LIMIT 1'),
  latestPublished: db.prepare<[string]>(
    "SELECT * FROM app_versions WHERE app_id = ? AND status = 'published' ORDER BY version_code DESC LIMIT 1",
  ),
  firstPage: db.prepare<[string, number]>('SELECT * FROM app_versions WHERE app_id = ? ORDER BY version_code DESC LIMIT ?'),
  nextPage: db.prepare<[string, number, number]>(
    'SELECT * FROM app_versions WHERE app_id = ? AND version_code < ? ORDER BY version_code DESC LIMIT ?',
  ),
  setStatus: db.prepare<[string, string | null, string | null, string, number, string]>(
    `UPDATE app_versions SET status = ?, review_notes = coalesce(?, review_notes), published_at = coalesce(?, published_at)
     WHERE app_id = ? AND version_code = ? AND status = ? RETURNING *`,
  ),
  inReview: db.prepare<[string, number]>(
    `SELECT v.*, a.package_id, a.name AS app_name FROM app_versions v JOIN apps a ON a.id = v.app_id
     WHERE v.status = ? ORDER BY v.seq LIMIT ?`,
  ),
}));

/** The highest version_code of an app so far, or 0. */
export function maxVersionCode(db: DB, appId: string): number {
  return (stmts(db).maxCode.get(appId) as { code: number | null }).code ?? 0;
}

export function insertVersion(db: DB, appId: string, f: VersionFields): VersionRow {
  return stmts(db).insert.get(
    randomUUID(),
    appId,
    f.version_code,
    f.version_name,
    f.package_url,
    f.package_size,
    f.signature,
    JSON.stringify(f.permissions),
    f.min_mosis_version,
    f.release_notes,
  ) as VersionRow;
}

export function versionByCode(db: DB, appId: string, code: number): VersionRow | undefined {
  return stmts(db).byCode.get(appId, code) as VersionRow | undefined;
}

/** The version with the highest code, whatever its status. */
export function latestVersion(db: DB, appId: string): VersionRow | undefined {
  return stmts(db).latest.get(appId) as VersionRow | undefined;
}

export function latestPublishedVersion(db: DB, appId: string): VersionRow | undefined {
  return stmts(db).latestPublished.get(appId) as VersionRow | undefined;
}

/** A page of an app's versions, newest (highest code) first; `before` is the last code seen. */
export function listVersions(db: DB, appId: string, limit: number, before?: number): VersionRow[] {
  const s = stmts(db);
  return (before === undefined ? s.firstPage.all(appId, limit) : s.nextPage.all(appId, before, limit)) as VersionRow[];
}

/**
 * Moves a version from status `from` to `to` (compare-and-set: undefined when it was not in `from`).
 * `reviewNotes` and `publishedAt` are written when given, kept otherwise.
 */
export function transitionVersion(
  db: DB,
  appId: string,
  code: number,
  from: VersionStatus,
  to: VersionStatus,
  extra: { reviewNotes?: string; publishedAt?: string } = {},
): VersionRow | undefined {
  return stmts(db).setStatus.get(to, extra.reviewNotes ?? null, extra.publishedAt ?? null, appId, code, from) as VersionRow | undefined;
}

export type QueuedVersion = VersionRow & { package_id: string; app_name: string };

/** Versions in a given status across all apps, oldest first (the review queue). */
export function versionsInStatus(db: DB, status: VersionStatus, limit: number): QueuedVersion[] {
  return stmts(db).inReview.all(status, limit) as QueuedVersion[];
}

export function publicVersion(row: VersionRow) {
  return {
    id: row.id,
    app_id: row.app_id,
    version_code: row.version_code,
    version_name: row.version_name,
    package_url: row.package_url,
    package_size: row.package_size,
    signature: row.signature,
    permissions: jsonArray(row.permissions),
    min_mosis_version: row.min_mosis_version,
    release_notes: row.release_notes,
    status: row.status,
    review_notes: row.review_notes,
    published_at: row.published_at,
    created_at: row.created_at,
    package: versionPackage(row),
  };
}

/** The verified package of a version as the developer sees it; null until one is uploaded. */
export function versionPackage(row: VersionRow) {
  if (row.package_sha256 === null) return null;
  return { sha256: row.package_sha256, size: row.package_size, signing_key_id: row.signing_key_id, uploaded_at: row.package_uploaded_at };
}

const packageStmts = perDb((db) => ({
  attach: db.prepare<[string, number, string, string, string, number]>(
    `UPDATE app_versions SET package_sha256 = ?, package_size = ?, signing_key_id = ?, package_uploaded_at = ?
     WHERE app_id = ? AND version_code = ? AND status = 'draft' RETURNING *`,
  ),
  setSignature: db.prepare<[string, string | null, string, number]>(
    "UPDATE app_versions SET signature = ?, signing_key_id = ? WHERE app_id = ? AND version_code = ? AND status = 'draft' RETURNING *",
  ),
  remove: db.prepare<[string, number]>(
    "DELETE FROM app_versions WHERE app_id = ? AND version_code = ? AND status IN ('draft', 'rejected') RETURNING *",
  ),
  referenced: db.prepare<[string]>('SELECT 1 FROM app_versions WHERE package_sha256 = ? LIMIT 1'),
  users: db.prepare<[string]>(
    `SELECT a.package_id, v.version_code, v.status FROM app_versions v JOIN apps a ON a.id = v.app_id
     WHERE v.package_sha256 = ? ORDER BY a.package_id, v.version_code`,
  ),
}));

/** The versions that use these bytes (for reports: which apps a missing package breaks). */
export function packageUsers(db: DB, sha256: string): { package_id: string; version_code: number; status: VersionStatus }[] {
  return packageStmts(db).users.all(sha256) as { package_id: string; version_code: number; status: VersionStatus }[];
}

/** Whether any version (of any app) references these bytes. */
export function isPackageReferenced(db: DB, sha256: string): boolean {
  return packageStmts(db).referenced.get(sha256) !== undefined;
}

/** Records a draft's verified package (its real size replaces the declared one); undefined unless a draft. */
export function attachPackage(
  db: DB,
  appId: string,
  code: number,
  pkg: { sha256: string; size: number; signingKeyId: string; uploadedAt: string },
): VersionRow | undefined {
  return packageStmts(db).attach.get(pkg.sha256, pkg.size, pkg.signingKeyId, pkg.uploadedAt, appId, code) as VersionRow | undefined;
}

/** A draft's new signature, with the key that verified it against the package (null without a package). */
export function setVersionSignature(db: DB, appId: string, code: number, signature: string, signingKeyId: string | null): VersionRow | undefined {
  return packageStmts(db).setSignature.get(signature, signingKeyId, appId, code) as VersionRow | undefined;
}

/** Deletes a draft or rejected version (never one a device may have installed); undefined otherwise. */
export function deleteVersion(db: DB, appId: string, code: number): VersionRow | undefined {
  return packageStmts(db).remove.get(appId, code) as VersionRow | undefined;
}
