import type { DB, Logger } from '@mosis/shared';
import { rmSync, statSync } from 'node:fs';
import { PACKAGE_BACKUP_RETENTION_MS, PACKAGE_GC_INTERVAL_MS } from '../limits.js';
import { insertAudit } from '../store/audit.js';
import {
  expiredPackages,
  forgetPackage,
  livePackages,
  markPackageRemoved,
  packageByHash,
  packagesRemovedBefore,
  packageUploaders,
} from '../store/packages.js';
import { nowIso } from '../store/prepare.js';
import { isPackageReferenced } from '../store/versions.js';
import { fsyncDirSync, sizeOf } from './durable.js';
import { listPackageFiles, packagePath, shardDir } from './layout.js';
import type { PackageStorage } from './storage.js';

/**
 * The package garbage collector. A package no version references (the triggers of migration 0005 stamp
 * `unreferenced_since`) keeps its file for the grace period, then the file goes; its backup copy stays until
 * PACKAGE_BACKUP_RETENTION_MS later, so that a restore of an older portal.db still finds it. Each removal is
 * one portal.db write transaction that re-checks the references and unlinks the file before committing (see
 * PackageStorage on locking). The collector also removes files no row accounts for (a crash between rename
 * and commit), once they are older than the grace period, and copies any live package the backup lacks.
 */

export interface GcReport {
  /** Files removed after their grace period. */
  removed: string[];
  /** Backup copies removed after the backup retention. */
  purged: string[];
  /** Files without a live row, removed. */
  strays: string[];
  /** Live packages copied to the backup because it lacked them. */
  backedUp: string[];
}

export interface GcOptions {
  storage: PackageStorage;
  db: DB;
  graceMs: number;
  /** The clock, in ms (tests move it forward). */
  now?: number;
}

function modifiedAt(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

function unlinkSyncIn(root: string, sha256: string): void {
  rmSync(packagePath(root, sha256), { force: true });
  if (sizeOf(shardDir(root, sha256)) !== undefined) fsyncDirSync(shardDir(root, sha256));
}

/** One pass of the collector. */
export async function collectPackages(opts: GcOptions): Promise<GcReport> {
  const { storage, db } = opts;
  const now = opts.now ?? Date.now();
  const report: GcReport = { removed: [], purged: [], strays: [], backedUp: [] };

  for (const pkg of expiredPackages(db, nowIso(now - opts.graceMs))) {
    const removed = db.transaction(() => {
      if (isPackageReferenced(db, pkg.sha256)) return false;
      if (!markPackageRemoved(db, pkg.sha256, nowIso(now))) return false;
      for (const developerId of packageUploaders(db, pkg.sha256)) {
        insertAudit(db, {
          developerId,
          action: 'package.removed',
          resourceType: 'package',
          resourceId: pkg.sha256,
          details: { size: pkg.size, unreferenced_since: pkg.unreferenced_since, by: 'gc' },
          ip: null,
          userAgent: null,
        });
      }
      unlinkSyncIn(storage.root, pkg.sha256);
      return true;
    }).immediate();
    if (removed) report.removed.push(pkg.sha256);
  }

  for (const pkg of packagesRemovedBefore(db, nowIso(now - PACKAGE_BACKUP_RETENTION_MS))) {
    const purged = db.transaction(() => {
      if (!forgetPackage(db, pkg.sha256)) return false;
      unlinkSyncIn(storage.backupRoot, pkg.sha256);
      return true;
    }).immediate();
    if (purged) report.purged.push(pkg.sha256);
  }

  // Only strays older than the grace period: a portal.db put in place by mistake (a wrong DATA_DIR, an old
  // copy) must not cost the files at once.
  for (const file of listPackageFiles(storage.root)) {
    if (modifiedAt(file.path) > now - opts.graceMs) continue;
    const stray = db.transaction(() => {
      const row = packageByHash(db, file.sha256);
      if (row && row.removed_at === null) return false;
      unlinkSyncIn(storage.root, file.sha256);
      return true;
    }).immediate();
    if (stray) report.strays.push(file.sha256);
  }

  for (const pkg of livePackages(db)) {
    if (sizeOf(packagePath(storage.backupRoot, pkg.sha256)) !== undefined) continue;
    if (sizeOf(storage.path(pkg.sha256)) === undefined) continue; // nothing to copy from: restore-drill reports it
    if (await storage.backup(pkg.sha256)) report.backedUp.push(pkg.sha256);
  }
  return report;
}

/**
 * Runs the collector now and then every `intervalMs` (never two passes at once) until stopped; a failed
 * pass is logged and the next one runs as planned.
 */
export function startPackageGc(opts: Omit<GcOptions, 'now'> & { log: Logger; intervalMs?: number }): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const pass = () => {
    running = collectPackages(opts)
      .then((r) => {
        const changed = r.removed.length + r.purged.length + r.strays.length + r.backedUp.length;
        if (changed) opts.log.info('package gc', { removed: r.removed.length, purged: r.purged.length, strays: r.strays.length, backed_up: r.backedUp.length });
      })
      .catch((err) => opts.log.error('package gc failed', { err }))
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(pass, opts.intervalMs ?? PACKAGE_GC_INTERVAL_MS).unref();
      });
  };
  pass();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
