import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { DEVICE_SECRET_FILE } from '../device-secret.js';
import type { SftpOffsite } from './config.js';
import { sftpBatch, sftpWord, type SftpCommand } from './sftp.js';

/**
 * Package files and the device-hash secret on the off-site SFTP target (Litestream copies only the
 * databases). Package files are content-addressed and immutable (`packages/<h0h1>/<sha256>`, the same
 * layout as DATA_DIR, see notes/layout.md): a sync uploads the ones missing there, each to a temporary
 * name then renamed, so a file under its final name is always complete. A restore downloads them and keeps
 * only those whose SHA-256 matches their name.
 */

export const PACKAGES_DIR = 'packages';
/** Where uploads and downloads are written before the rename; never listed. */
const TMP_DIR = '.tmp';
const HASH = /^[0-9a-f]{64}$/;
const PREFIX = /^[0-9a-f]{2}$/;
/** Every `<h0h1>` folder name, listed one by one: sftp's glob stops at a few thousand names (GLOB_LIMIT). */
const PREFIXES = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Package files under `dir/packages`, by hash, laid out as layout.md says; anything else is ignored. */
export function localPackages(dir: string): Map<string, string> {
  const root = join(dir, PACKAGES_DIR);
  const found = new Map<string, string>();
  if (!existsSync(root)) return found;
  for (const prefix of readdirSync(root).filter((p) => PREFIX.test(p))) {
    const folder = join(root, prefix);
    if (!statSync(folder).isDirectory()) continue;
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (HASH.test(name) && name.startsWith(prefix) && statSync(path).isFile()) found.set(name, path);
    }
  }
  return found;
}

/** SHA-256 of a file, hex. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('error', reject)
      .on('data', (d) => hash.update(d))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** `<root>/<relative>` on the far side (posix paths; a relative root is relative to the SFTP user's home). */
function remote(o: SftpOffsite, ...parts: string[]): string {
  return posix.join(o.path, ...parts);
}

/** `-mkdir` for the root and each folder above it, so that an upload finds them (existing ones fail harmlessly). */
function mkdirs(o: SftpOffsite, ...dirs: string[]): SftpCommand[] {
  const parts = o.path.split('/').filter(Boolean);
  const lead = o.path.startsWith('/') ? '/' : '';
  const above = parts.map((_, i) => lead + parts.slice(0, i + 1).join('/'));
  return [...above, ...dirs.map((d) => remote(o, d))].map((d) => ({ words: ['mkdir', sftpWord(d)], mayFail: true }));
}

/** What the far side holds: package hashes, and the secret's content if it has one. */
export interface OffsiteListing {
  packages: Set<string>;
  secret: Buffer | undefined;
}

/**
 * Lists the off-site package files (in the `<h0h1>` folders `prefixes`, default all 256: one round trip
 * each) and fetches the off-site secret, in one session.
 */
export async function listOffsite(o: SftpOffsite, opts: { prefixes?: Iterable<string>; signal?: AbortSignal } = {}): Promise<OffsiteListing> {
  const { signal } = opts;
  const prefixes = [...(opts.prefixes ?? PREFIXES)].sort();
  const scratch = mkdtempSync(join(tmpdir(), 'mosis-offsite-'));
  try {
    const secretCopy = join(scratch, DEVICE_SECRET_FILE);
    const out = await sftpBatch(
      o,
      [
        ...prefixes.map((p) => ({ words: ['ls', '-1', sftpWord(remote(o, PACKAGES_DIR, p))], mayFail: true })),
        { words: ['get', sftpWord(remote(o, DEVICE_SECRET_FILE)), sftpWord(secretCopy)], mayFail: true },
      ],
      signal,
    );
    const packages = new Set<string>();
    for (const line of out.split('\n')) {
      if (line.startsWith('sftp>')) continue;
      const m = /(?:^|\/)([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(line.trim());
      if (m && m[2]!.startsWith(m[1]!)) packages.add(m[2]!);
    }
    return { packages, secret: existsSync(secretCopy) ? readFileSync(secretCopy) : undefined };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export interface SyncResult {
  /** Hashes uploaded by this pass. */
  uploaded: string[];
  bytes: number;
  /** Of the local package files, how many are off-site after this pass. */
  offsite: number;
  /** Local files whose content does not match their name: not uploaded. */
  invalid: string[];
  secret: 'uploaded' | 'unchanged' | 'none';
}

/**
 * One pass: uploads the local package files the far side lacks, and the device-hash secret when it differs
 * there. `skip` holds paths already found invalid (not hashed again).
 */
export async function syncToOffsite(o: SftpOffsite, dataDir: string, opts: { signal?: AbortSignal; skip?: Set<string> } = {}): Promise<SyncResult> {
  const local = localPackages(dataDir);
  // Only the folders that hold local files: a far side that has others is no concern of a sync.
  const there = await listOffsite(o, { prefixes: new Set([...local.keys()].map((h) => h.slice(0, 2))), signal: opts.signal });
  const missing = [...local].filter(([hash, path]) => !there.packages.has(hash) && !opts.skip?.has(path));
  const uploads: [string, string][] = [];
  const invalid: string[] = [];
  for (const [hash, path] of missing) {
    if ((await sha256File(path)) === hash) uploads.push([hash, path]);
    else invalid.push(path);
  }
  const secretPath = join(dataDir, DEVICE_SECRET_FILE);
  const secret = existsSync(secretPath) ? readFileSync(secretPath) : undefined;
  const secretChanged = secret !== undefined && !(there.secret && secret.equals(there.secret));

  const commands: SftpCommand[] = [];
  for (const [hash, path] of uploads) {
    const tmp = remote(o, PACKAGES_DIR, TMP_DIR, `${hash}.${randomBytes(4).toString('hex')}`);
    commands.push({ words: ['put', sftpWord(path), sftpWord(tmp)] }, { words: ['rename', sftpWord(tmp), sftpWord(remote(o, PACKAGES_DIR, hash.slice(0, 2), hash))] });
  }
  if (secretChanged) {
    const tmp = remote(o, `.${DEVICE_SECRET_FILE}.${randomBytes(4).toString('hex')}`);
    commands.push({ words: ['put', sftpWord(secretPath), sftpWord(tmp)] }, { words: ['rename', sftpWord(tmp), sftpWord(remote(o, DEVICE_SECRET_FILE))] });
  }
  if (commands.length) {
    const folders = [...new Set(uploads.map(([hash]) => posix.join(PACKAGES_DIR, hash.slice(0, 2))))];
    const dirs = uploads.length ? [PACKAGES_DIR, posix.join(PACKAGES_DIR, TMP_DIR), ...folders] : [];
    await sftpBatch(o, [...mkdirs(o, ...dirs), ...commands], opts.signal);
  }
  return {
    uploaded: uploads.map(([hash]) => hash),
    bytes: uploads.reduce((n, [, path]) => n + statSync(path).size, 0),
    offsite: [...local.keys()].filter((h) => there.packages.has(h)).length + uploads.length,
    invalid,
    secret: secret === undefined ? 'none' : secretChanged ? 'uploaded' : 'unchanged',
  };
}

export interface RestoreResult {
  restored: number;
  bytes: number;
  /** Hashes whose downloaded content did not match: left out. */
  invalid: string[];
  /** Whether the device-hash secret came along. */
  secret: boolean;
}

/**
 * Downloads the off-site package files missing in `dir/packages` (kept only when their SHA-256 matches
 * their name) and, with `secret` and when `dir` has none, the device-hash secret.
 */
export async function restoreFromOffsite(o: SftpOffsite, dir: string, opts: { secret: boolean; signal?: AbortSignal }): Promise<RestoreResult> {
  const { signal } = opts;
  const there = await listOffsite(o, { signal });
  const have = localPackages(dir);
  const wanted = [...there.packages].filter((hash) => !have.has(hash)).sort();
  mkdirSync(join(dir, PACKAGES_DIR, TMP_DIR), { recursive: true });
  const tmpDir = mkdtempSync(join(dir, PACKAGES_DIR, TMP_DIR, 'offsite-restore-'));
  const result: RestoreResult = { restored: 0, bytes: 0, invalid: [], secret: false };
  try {
    if (wanted.length) {
      await sftpBatch(
        o,
        wanted.map((hash) => ({ words: ['get', sftpWord(remote(o, PACKAGES_DIR, hash.slice(0, 2), hash)), sftpWord(join(tmpDir, hash))] })),
        signal,
      );
    }
    for (const hash of wanted) {
      const tmp = join(tmpDir, hash);
      if ((await sha256File(tmp)) !== hash) {
        result.invalid.push(hash);
        continue;
      }
      mkdirSync(join(dir, PACKAGES_DIR, hash.slice(0, 2)), { recursive: true });
      result.bytes += statSync(tmp).size;
      renameSync(tmp, join(dir, PACKAGES_DIR, hash.slice(0, 2), hash));
      result.restored++;
    }
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
  const secretPath = join(dir, DEVICE_SECRET_FILE);
  if (opts.secret && there.secret && !existsSync(secretPath)) {
    writeFileSync(`${secretPath}.tmp`, there.secret, { mode: 0o600 });
    renameSync(`${secretPath}.tmp`, secretPath);
    result.secret = true;
  }
  return result;
}

/**
 * What the start-up fetches into a fresh data directory: the package files it lacks, and the secret when
 * neither it nor the backups hold one (the copy beside the local replicas wins; DEVICE_HASH_SECRET needs none).
 */
export function pullFromOffsite(o: SftpOffsite, dataDir: string, backupDir: string, env: NodeJS.ProcessEnv = process.env): Promise<RestoreResult> {
  const secret = !env.DEVICE_HASH_SECRET && ![dataDir, backupDir].some((d) => existsSync(join(d, DEVICE_SECRET_FILE)));
  return restoreFromOffsite(o, dataDir, { secret });
}
