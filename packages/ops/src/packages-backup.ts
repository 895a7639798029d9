import { copyVerified, hashFile, livePackages, packagePath, packagesRoot, packageUsers } from '@mosis/core-api';
import { openDatabase } from '@mosis/shared';

/**
 * Package files in backups and restores. The core API copies each stored package to BACKUP_DIR/packages
 * (same layout as DATA_DIR/packages); a restore brings back the ones the restored portal.db lists, checked
 * against their SHA-256 while copying, and a drill checks every backup copy that restore would need.
 */

/** What became of the packages a portal.db lists. */
export interface PackageReport {
  /** Packages portal.db lists as stored. */
  listed: number;
  /** Present and valid (copied now, or already there). */
  ok: number;
  missing: string[];
  /** Present, but their bytes do not hash to their name: not restored. */
  corrupted: string[];
  /** For missing and corrupted ones: the versions that use them, as `package_id code (status)`. */
  usedBy: Map<string, string[]>;
}

function livePackageHashes(portalDbPath: string): { hashes: string[]; users: (sha256: string) => string[]; close: () => void } {
  const db = openDatabase(portalDbPath, { readonly: true });
  return {
    hashes: livePackages(db).map((p) => p.sha256),
    users: (sha256) => packageUsers(db, sha256).map((u) => `${u.package_id} ${u.version_code} (${u.status})`),
    close: () => db.close(),
  };
}

/** Copies the packages `portalDbPath` lists from `backupDir`/packages to `toDir`/packages, verifying each. */
export async function restorePackages(backupDir: string, portalDbPath: string, toDir: string): Promise<PackageReport> {
  const live = livePackageHashes(portalDbPath);
  try {
    const report: PackageReport = { listed: live.hashes.length, ok: 0, missing: [], corrupted: [], usedBy: new Map() };
    for (const sha256 of live.hashes) {
      const outcome = await copyVerified(packagePath(packagesRoot(backupDir), sha256), packagesRoot(toDir), sha256);
      if (outcome === 'copied' || outcome === 'present') report.ok++;
      else (outcome === 'missing' ? report.missing : report.corrupted).push(sha256);
      if (outcome === 'missing' || outcome === 'corrupt') report.usedBy.set(sha256, live.users(sha256));
    }
    return report;
  } finally {
    live.close();
  }
}

/** Hashes every package `portalDbPath` lists under `dir`/packages (DATA_DIR or BACKUP_DIR layout alike). */
export async function verifyPackages(dir: string, portalDbPath: string): Promise<PackageReport> {
  const live = livePackageHashes(portalDbPath);
  try {
    const report: PackageReport = { listed: live.hashes.length, ok: 0, missing: [], corrupted: [], usedBy: new Map() };
    for (const sha256 of live.hashes) {
      const actual = await hashFile(packagePath(packagesRoot(dir), sha256));
      if (actual === sha256) {
        report.ok++;
        continue;
      }
      (actual === undefined ? report.missing : report.corrupted).push(sha256);
      report.usedBy.set(sha256, live.users(sha256));
    }
    return report;
  } finally {
    live.close();
  }
}

/** Whether every listed package is there and valid. */
export function packagesComplete(report: PackageReport): boolean {
  return report.missing.length === 0 && report.corrupted.length === 0;
}

/** Report lines: a summary, then each missing or corrupted package with the versions that need it. */
export function formatPackageReport(report: PackageReport, where: string): string[] {
  const lines = [
    `packages: ${report.ok} of ${report.listed} ok in ${where}` +
      (packagesComplete(report) ? '' : `; ${report.missing.length} missing, ${report.corrupted.length} corrupted`),
  ];
  for (const [kind, hashes] of [['missing', report.missing], ['corrupted', report.corrupted]] as const) {
    for (const sha256 of hashes) {
      const users = report.usedBy.get(sha256) ?? [];
      lines.push(`  ${kind} ${sha256}${users.length ? `: used by ${users.join(', ')}` : ': used by no version'}`);
    }
  }
  return lines;
}
