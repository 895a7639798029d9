import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where package files live (the lead's shared layout, also used by ops for backups and restores):
 *   <root>/<h0h1>/<sha256>   the file whose SHA-256 is <sha256> (64 lower-case hex digits; h0h1 = its first two)
 *   <root>/.tmp/<random>     uploads and copies being written; never counted, swept at start
 * with <root> = DATA_DIR/packages for the live files and BACKUP_DIR/packages for the local backup copies.
 * A file is valid iff its SHA-256 equals its name; anything else in those folders is ignored.
 */

/** Name of the packages folder inside DATA_DIR and inside BACKUP_DIR. */
export const PACKAGES_SUBDIR = 'packages';
/** Name of the temp folder inside a packages root. */
export const TEMP_SUBDIR = '.tmp';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const SHARD = /^[0-9a-f]{2}$/;

/** Whether `text` is a lower-case hex SHA-256, the only name a package file may have. */
export function isSha256Hex(text: string): boolean {
  return SHA256_HEX.test(text);
}

/** DATA_DIR/packages or BACKUP_DIR/packages. */
export function packagesRoot(dir: string): string {
  return join(dir, PACKAGES_SUBDIR);
}

/** The folder of a package file (<root>/<h0h1>). */
export function shardDir(root: string, sha256: string): string {
  return join(root, sha256.slice(0, 2));
}

/** The path of a package file. */
export function packagePath(root: string, sha256: string): string {
  return join(shardDir(root, sha256), sha256);
}

/** The temp folder of a packages root. */
export function tempDirOf(root: string): string {
  return join(root, TEMP_SUBDIR);
}

/** Every file under `root` named like a package in the right folder, by name; other entries are skipped. */
export function listPackageFiles(root: string): { sha256: string; path: string }[] {
  const found: { sha256: string; path: string }[] = [];
  for (const shard of readdirOrEmpty(root)) {
    if (!SHARD.test(shard)) continue;
    for (const name of readdirOrEmpty(join(root, shard))) {
      if (isSha256Hex(name) && name.startsWith(shard)) found.push({ sha256: name, path: join(root, shard, name) });
    }
  }
  return found.sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1));
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw new Error(`list ${dir}: ${(err as Error).message}`, { cause: err });
  }
}
