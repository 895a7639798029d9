import type { DB } from '@mosis/shared';
import { perDb } from './prepare.js';

/** One stored package file (see migration 0005_packages). */
export interface PackageRow {
  sha256: string;
  size: number;
  stored_at: string;
  unreferenced_since: string | null;
  removed_at: string | null;
}

const stmts = perDb((db) => ({
  // A package stored again is referenced again and its file is back: its grace period and removal are void.
  upsert: db.prepare<[string, number]>(
    `INSERT INTO packages (sha256, size) VALUES (?, ?)
     ON CONFLICT (sha256) DO UPDATE SET unreferenced_since = NULL, removed_at = NULL`,
  ),
  addUploader: db.prepare<[string, string]>('INSERT OR IGNORE INTO package_uploaders (sha256, developer_id) VALUES (?, ?)'),
  byHash: db.prepare<[string]>('SELECT * FROM packages WHERE sha256 = ?'),
  live: db.prepare('SELECT * FROM packages WHERE removed_at IS NULL ORDER BY sha256'),
  expired: db.prepare<[string]>(
    'SELECT * FROM packages WHERE unreferenced_since IS NOT NULL AND unreferenced_since <= ? AND removed_at IS NULL ORDER BY sha256',
  ),
  markRemoved: db.prepare<[string, string]>(
    'UPDATE packages SET removed_at = ? WHERE sha256 = ? AND removed_at IS NULL AND unreferenced_since IS NOT NULL',
  ),
  removedBefore: db.prepare<[string]>('SELECT * FROM packages WHERE removed_at IS NOT NULL AND removed_at <= ? ORDER BY sha256'),
  forget: db.prepare<[string]>('DELETE FROM packages WHERE sha256 = ? AND removed_at IS NOT NULL'),
  forgetUploaders: db.prepare<[string]>('DELETE FROM package_uploaders WHERE sha256 = ?'),
  uploaders: db.prepare<[string]>('SELECT developer_id FROM package_uploaders WHERE sha256 = ? ORDER BY developer_id'),
}));

/** Records stored bytes (or that they are wanted again) and who uploaded them; call with the version's update. */
export function recordPackage(db: DB, sha256: string, size: number, developerId: string): void {
  const s = stmts(db);
  s.upsert.run(sha256, size);
  s.addUploader.run(sha256, developerId);
}

export function packageByHash(db: DB, sha256: string): PackageRow | undefined {
  return stmts(db).byHash.get(sha256) as PackageRow | undefined;
}

/** Every package whose file should be on disk, by hash: what backups copy and restores bring back. */
export function livePackages(db: DB): PackageRow[] {
  return stmts(db).live.all() as PackageRow[];
}

/** Packages no version has referenced since `cutoffIso` or earlier, file not yet removed. */
export function expiredPackages(db: DB, cutoffIso: string): PackageRow[] {
  return stmts(db).expired.all(cutoffIso) as PackageRow[];
}

/** Marks a package's file removed; false when it was referenced again (or removed) meanwhile. */
export function markPackageRemoved(db: DB, sha256: string, nowIso: string): boolean {
  return stmts(db).markRemoved.run(nowIso, sha256).changes === 1;
}

/** Packages whose file was removed at `cutoffIso` or earlier: their backup copies may go. */
export function packagesRemovedBefore(db: DB, cutoffIso: string): PackageRow[] {
  return stmts(db).removedBefore.all(cutoffIso) as PackageRow[];
}

/** Forgets a removed package and its uploaders; false unless it was removed. */
export function forgetPackage(db: DB, sha256: string): boolean {
  const s = stmts(db);
  if (s.forget.run(sha256).changes !== 1) return false;
  s.forgetUploaders.run(sha256);
  return true;
}

/** The developers who uploaded these bytes (their audit trails hear of the removal). */
export function packageUploaders(db: DB, sha256: string): string[] {
  return (stmts(db).uploaders.all(sha256) as { developer_id: string }[]).map((r) => r.developer_id);
}
