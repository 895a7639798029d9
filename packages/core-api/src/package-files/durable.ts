import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { copyFile, mkdir, open, rm } from 'node:fs/promises';
import { PACKAGE_READ_CHUNK_BYTES } from '../limits.js';
import { packagePath, shardDir, tempDirOf } from './layout.js';

/**
 * Writing package files so that a crash never leaves a file that counts: write under <root>/.tmp, fsync the
 * file, rename it to its content address, fsync the folder (the rename itself is then on disk).
 */

/** Flushes a directory's entries (a rename or unlink in it) to disk. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flushes a file's bytes to disk. */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A fresh temp path under <root>/.tmp (the folder is created). */
export async function newTempPath(root: string): Promise<string> {
  const dir = tempDirOf(root);
  await mkdir(dir, { recursive: true });
  return `${dir}/${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`;
}

/** Renames a complete, fsynced temp file to its content address and fsyncs the folder. Synchronous on purpose (see PackageStorage). */
export function renameIntoPlaceSync(tempPath: string, root: string, sha256: string): void {
  const dir = shardDir(root, sha256);
  mkdirSync(dir, { recursive: true });
  renameSync(tempPath, packagePath(root, sha256));
  fsyncDirSync(dir);
}

/** Size of a file, or undefined when there is none. */
export function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Removes every entry of <root>/.tmp (left by uploads or copies a crash interrupted); returns how many. */
export function sweepTemp(root: string): number {
  const dir = tempDirOf(root);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  for (const name of entries) rmSync(`${dir}/${name}`, { recursive: true, force: true });
  return entries.length;
}

/**
 * Copies a package file to <toRoot> once (content addressing: a file already there is the same bytes):
 * temp, fsync, rename, fsync. `copied` or `present`.
 */
export async function copyOnce(from: string, toRoot: string, sha256: string): Promise<'copied' | 'present'> {
  if (sizeOf(packagePath(toRoot, sha256)) !== undefined) return 'present';
  const temp = await newTempPath(toRoot);
  try {
    await copyFile(from, temp);
    await fsyncFile(temp);
    renameIntoPlaceSync(temp, toRoot, sha256);
    return 'copied';
  } catch (err) {
    await rm(temp, { force: true });
    throw new Error(`copy package ${sha256} to ${toRoot}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Copies a package file to <toRoot> only if its bytes hash to `sha256` (the hash is computed while copying):
 * `copied`, `present` (already there, not re-read), `missing` (no source) or `corrupt` (nothing written).
 */
export async function copyVerified(from: string, toRoot: string, sha256: string): Promise<'copied' | 'present' | 'missing' | 'corrupt'> {
  if (sizeOf(packagePath(toRoot, sha256)) !== undefined) return 'present';
  let src;
  try {
    src = await open(from, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  const temp = await newTempPath(toRoot);
  let placed = false;
  try {
    const dst = await open(temp, 'wx');
    const hash = createHash('sha256');
    try {
      const buf = Buffer.allocUnsafe(PACKAGE_READ_CHUNK_BYTES);
      for (;;) {
        const { bytesRead } = await src.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        const chunk = buf.subarray(0, bytesRead);
        hash.update(chunk);
        await dst.write(chunk);
      }
      await dst.sync();
    } finally {
      await dst.close();
    }
    if (hash.digest('hex') !== sha256) return 'corrupt';
    renameIntoPlaceSync(temp, toRoot, sha256);
    placed = true;
    return 'copied';
  } finally {
    await src.close();
    if (!placed) await rm(temp, { force: true });
  }
}

/** SHA-256 of a file (hex), or undefined when there is none. */
export async function hashFile(path: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(PACKAGE_READ_CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
    return hash.digest('hex');
  } finally {
    await fh.close();
  }
}
