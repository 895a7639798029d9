import { databasePath, type DatabaseName } from '@mosis/shared';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOffsite, type Offsite } from './offsite/config.js';

/** The repository's `litestream.yml` (three levels above both `src/` and `dist/` of this package). */
export const DEFAULT_LITESTREAM_CONFIG = fileURLToPath(new URL('../../../litestream.yml', import.meta.url));

/** The configs with an off-site replica beside the local one, used when OFFSITE_* is set (Litestream 0.3 has no conditional replicas). */
export const OFFSITE_LITESTREAM_CONFIGS = {
  sftp: fileURLToPath(new URL('../../../litestream-offsite-sftp.yml', import.meta.url)),
  s3: fileURLToPath(new URL('../../../litestream-offsite-s3.yml', import.meta.url)),
} as const;

/** Litestream's names of the two replicas in those configs (`file` alone in litestream.yml). */
export const LOCAL_REPLICA = 'file';
export const OFFSITE_REPLICA = 'offsite';

/**
 * Go's soft memory limit for Litestream (the image sets it too): without one its heap grows to what a burst
 * of WAL needed and the runtime gives it back only slowly, so Litestream stays at about twice its start-up
 * RSS for minutes after (measured: README, "Memory at rest"). A soft limit: Litestream may exceed it, its GC
 * just works harder near it.
 */
export const LITESTREAM_ENV = { GOMEMLIMIT: '24MiB' } as const;

/** Where replicas go when BACKUP_DIR is unset: beside the databases, for a laptop. The image sets /backups. */
export const DEFAULT_BACKUP_SUBDIR = 'backups';

/**
 * Path of the Litestream binary: `LITESTREAM_BIN` if set, else the one the npm package
 * `@flydotio/litestream` installed for this platform, else `litestream` from PATH (the image's copy).
 * The package's own `litestream` bin is a Node wrapper that neither forwards signals nor exit codes,
 * so the real binary is run directly.
 */
export function litestreamBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LITESTREAM_BIN) return env.LITESTREAM_BIN;
  try {
    const require = createRequire(import.meta.url);
    const wrapper = require.resolve('@flydotio/litestream/package.json');
    // The platform package is a dependency of the wrapper, so resolve it from there (pnpm's layout).
    const platformPkg = createRequire(wrapper).resolve(`@flydotio/litestream-${process.platform}-${process.arch}/package.json`);
    const binary = join(dirname(platformPkg), 'litestream');
    if (existsSync(binary)) return binary;
  } catch {
    // Not installed for this platform (the runtime image ships the binary on PATH instead).
  }
  return 'litestream';
}

/** Everything needed to run Litestream against this deployment's databases and replicas. */
export interface Replication {
  binary: string;
  /** Absolute path of the litestream.yml in use. */
  configPath: string;
  dataDir: string;
  backupDir: string;
  /** The environment Litestream runs with: DATA_DIR and BACKUP_DIR set, absolute, for ${VAR} expansion. */
  env: NodeJS.ProcessEnv;
  /** The off-site replica from OFFSITE_*, if configured (the config then names it `offsite`). */
  offsite: Offsite | undefined;
}

/**
 * Resolves the config file (`--config`, else `LITESTREAM_CONFIG`, else the repository's litestream.yml,
 * or its off-site variant when OFFSITE_* is set) and the two directories. DATA_DIR comes validated from
 * the shared config; BACKUP_DIR defaults to DATA_DIR/backups. Throws ConfigError for half-set OFFSITE_*.
 */
export function replication(dataDir: string, configOption?: string, env: NodeJS.ProcessEnv = process.env): Replication {
  const offsite = loadOffsite(env);
  const configPath = resolve(configOption || env.LITESTREAM_CONFIG || (offsite ? OFFSITE_LITESTREAM_CONFIGS[offsite.kind] : DEFAULT_LITESTREAM_CONFIG));
  if (!existsSync(configPath)) throw new Error(`litestream config not found: ${configPath}`);
  const data = resolve(dataDir);
  const backupDir = resolve(env.BACKUP_DIR || join(data, DEFAULT_BACKUP_SUBDIR));
  return {
    binary: litestreamBinary(env),
    configPath,
    dataDir: data,
    backupDir,
    env: { ...env, DATA_DIR: data, BACKUP_DIR: backupDir },
    offsite,
  };
}

/** The path Litestream knows a database by: its path in litestream.yml after expansion. */
export function livePath(r: Replication, name: DatabaseName): string {
  return databasePath(r.dataDir, name);
}

export interface LitestreamResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one Litestream subcommand with `-config` and collects its output. */
export function runLitestream(r: Replication, command: string, args: string[]): Promise<LitestreamResult> {
  return new Promise((done, fail) => {
    const child = spawn(r.binary, [command, '-config', r.configPath, ...args], { env: r.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => fail(new Error(`run ${r.binary} ${command}: ${err.message}`, { cause: err })));
    child.on('close', (code, signal) => done({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** Last meaningful line of Litestream's log output, for error messages. */
export function lastLine(res: LitestreamResult): string {
  const lines = `${res.stdout}\n${res.stderr}`.trim().split('\n').filter(Boolean);
  return lines.at(-1) ?? `exit code ${res.code}`;
}

/**
 * Restores one database to `output`, which must not exist yet: from `replica` (a name in the config), or
 * else from the replica Litestream finds newest.
 */
export async function restoreTo(r: Replication, name: DatabaseName, output: string, replica?: string): Promise<void> {
  const res = await runLitestream(r, 'restore', [...(replica ? ['-replica', replica] : []), '-o', output, livePath(r, name)]);
  if (res.code !== 0) throw new Error(`restore ${name}: ${lastLine(res)}`);
  removeRestoreLeftovers(output);
}

/**
 * Litestream restores into `<output>.tmp`, checkpoints it and renames it, but leaves that temporary
 * file's empty -wal and -shm behind: remove them so that only the database remains.
 */
function removeRestoreLeftovers(output: string): void {
  for (const suffix of ['.tmp-wal', '.tmp-shm']) rmSync(output + suffix, { force: true });
}

/**
 * Start-up restore: when a database file is missing, restore it from its replica if there is one
 * (`-if-db-not-exists -if-replica-exists`). Leftovers of a deleted database (its -wal, -shm and
 * Litestream's shadow directory) go first: SQLite would replay an old WAL into the restored file.
 * Returns what happened for each database.
 */
export async function restoreIfMissing(r: Replication, name: DatabaseName): Promise<'present' | 'restored' | 'no replica'> {
  const path = livePath(r, name);
  if (existsSync(path)) return 'present';
  for (const leftover of [`${path}-wal`, `${path}-shm`, join(dirname(path), `.${name}.db-litestream`)]) {
    rmSync(leftover, { recursive: true, force: true });
  }
  const res = await runLitestream(r, 'restore', ['-if-db-not-exists', '-if-replica-exists', path]);
  if (res.code !== 0) throw new Error(`restore ${name}: ${lastLine(res)}`);
  removeRestoreLeftovers(path);
  return existsSync(path) ? 'restored' : 'no replica';
}

/** Whether Litestream has a snapshot of the database to restore from (the live file need not exist). */
export async function hasReplica(r: Replication, name: DatabaseName): Promise<boolean> {
  const res = await runLitestream(r, 'snapshots', [livePath(r, name)]);
  if (res.code !== 0) throw new Error(`snapshots ${name}: ${lastLine(res)}`);
  // A header line, then one line per snapshot.
  return res.stdout.trim().split('\n').length > 1;
}

/** Where a database's replica is: BACKUP_DIR/<name> under the repository's litestream.yml. */
export function replicaLocation(r: Replication, name: DatabaseName): string {
  return r.configPath === DEFAULT_LITESTREAM_CONFIG ? `at ${join(r.backupDir, name)}` : `for ${livePath(r, name)} in ${r.configPath}`;
}

/**
 * Throws, saying plainly what is missing and what to run, unless every database has a replica: without
 * this check a restore fails with Litestream's own `no matching backups found`.
 */
export async function requireReplicas(r: Replication, names: DatabaseName[]): Promise<void> {
  const missing: DatabaseName[] = [];
  for (const name of names) if (!(await hasReplica(r, name))) missing.push(name);
  if (missing.length === 0) return;
  throw new Error(
    [
      'nothing to restore from:',
      ...missing.map((name) => `  ${basename(livePath(r, name))}: no replica ${replicaLocation(r, name)}`),
      'Replicas are written while the services run under Litestream: start them with `npm run start:replicated`',
      '(the image always does). If the replicas are elsewhere, set BACKUP_DIR (now ' + r.backupDir + ')',
      'or LITESTREAM_CONFIG (now ' + r.configPath + ') to where they are.',
    ].join('\n'),
  );
}

/** One generation of a replica as `litestream generations` lists it. */
export interface Generation {
  replica: string;
  generation: string;
  /** How far the replica is behind the live database's last change, in ms (negative: ahead). */
  lagMs: number;
  start: Date;
  end: Date;
}

/** Lists a database's replica generations; the current one is the one with the latest `end`. */
export async function generations(r: Replication, name: DatabaseName): Promise<Generation[]> {
  const res = await runLitestream(r, 'generations', [livePath(r, name)]);
  if (res.code !== 0) throw new Error(`generations ${name}: ${lastLine(res)}`);
  return parseGenerations(res.stdout);
}

/** Parses the table `litestream generations` prints: `name generation lag start end`. */
export function parseGenerations(text: string): Generation[] {
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length === 5)
    .map(([replica, generation, lag, start, end]) => ({
      replica: replica!,
      generation: generation!,
      lagMs: parseGoDuration(lag!),
      start: new Date(start!),
      end: new Date(end!),
    }));
}

const GO_DURATION_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration string (`-18ms`, `1m2.5s`, `3h0m0s`) into milliseconds. */
export function parseGoDuration(text: string): number {
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.replace(/^[-+]/, '');
  if (body === '0') return 0;
  const parts = [...body.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== body) throw new Error(`not a duration: ${text}`);
  return sign * parts.reduce((ms, [, n, unit]) => ms + Number(n) * GO_DURATION_UNITS_MS[unit!]!, 0);
}

/** Each replica's current generation (the one with the latest `end`), by replica name, in name order. */
export function currentGenerations(gens: Generation[]): Map<string, Generation> {
  const current = new Map<string, Generation>();
  for (const g of [...gens].sort((a, b) => a.replica.localeCompare(b.replica) || b.end.getTime() - a.end.getTime())) {
    if (!current.has(g.replica)) current.set(g.replica, g);
  }
  return current;
}

/** Where a replica is, for messages: BACKUP_DIR for the local one, the off-site target for the other. */
export function replicaPlace(r: Replication, replica: string): string {
  return replica === OFFSITE_REPLICA && r.offsite ? r.offsite.label : replica === LOCAL_REPLICA ? r.backupDir : replica;
}

/**
 * One line per replica of a database, for `ops stats`: its current generation, when it was last
 * replicated and how far it lags the live file. Never throws: stats must print the rest regardless.
 */
export async function describeReplicas(dataDir: string, name: DatabaseName, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  try {
    const r = replication(dataDir, undefined, env);
    const current = currentGenerations(await generations(r, name));
    if (current.size === 0) return [`replica: none yet in ${r.backupDir} (is Litestream running?)`];
    return [...current].map(([replica, gen]) => {
      const lag = (Math.max(0, gen.lagMs) / 1000).toFixed(1);
      return `replica: ${replicaPlace(r, replica)}, generation ${gen.generation}, last replicated ${gen.end.toISOString()}, lag ${lag} s`;
    });
  } catch (err) {
    return [`replica: unknown (${(err as Error).message})`];
  }
}
