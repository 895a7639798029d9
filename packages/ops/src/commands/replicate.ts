import { DATABASES } from '@mosis/shared';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { CommandContext } from '../command.js';
import { keepSecretWithBackups } from '../device-secret.js';
import { LAUNCHER, MALLOC_ENV, nodeFlags } from '../launcher.js';
import { LITESTREAM_ENV, replication, restoreIfMissing } from '../litestream.js';
import { pullFromOffsite } from '../offsite/packages.js';
import { databaseNames } from './restore.js';

export const usage = `replicate [--config PATH]
    run both services under Litestream (litestream replicate -exec launcher), replicating to
    BACKUP_DIR (default DATA_DIR/backups); a missing database is first restored from its replica,
    and the device-hash secret is kept beside the replicas.
    Ctrl-C or SIGTERM stops the services, then Litestream syncs one last time and exits`;

/** Signals passed on to Litestream, which passes them on to the launcher and waits for it. */
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** `ops replicate` (`npm run start:replicated`): the container's start-up, on a laptop. */
export async function run(ctx: CommandContext): Promise<number> {
  const r = replication(ctx.config.DATA_DIR, ctx.values.config as string | undefined);
  // A bad V8_SEMI_SPACE_MIB stops here (exit 2), before anything is restored or started.
  const flags = nodeFlags(r.env);
  mkdirSync(r.dataDir, { recursive: true });
  mkdirSync(r.backupDir, { recursive: true });
  let fresh = false;
  for (const name of databaseNames()) {
    const outcome = await restoreIfMissing(r, name);
    fresh ||= outcome !== 'present';
    if (outcome !== 'present') ctx.out(`${DATABASES[name].file}: ${outcome === 'restored' ? 'restored from its replica' : 'new (no replica yet)'}`);
  }
  // A fresh data directory: the package files (and the secret, when the backups lack it too) come back from
  // the off-site replica, which Litestream does not copy. A far side that is down does not stop the start.
  if (fresh && r.offsite?.kind === 'sftp') {
    try {
      const pulled = await pullFromOffsite(r.offsite, r.dataDir, r.backupDir);
      ctx.out(`packages: ${pulled.restored} files restored from ${r.offsite.label}${pulled.secret ? ', and device-hash.secret' : ''}`);
    } catch (err) {
      ctx.err(`WARNING: nothing restored from ${r.offsite.label} (${(err as Error).message}); run \`ops offsite-sync --pull\` once it answers`);
    }
  }
  if (keepSecretWithBackups(r.dataDir, r.backupDir) === 'restored') ctx.out(`device-hash.secret: restored from ${r.backupDir}`);
  ctx.out(`replicating ${r.dataDir} to ${r.backupDir} (config ${r.configPath})`);

  // Litestream splits -exec like a shell would: quote both paths.
  const exec = [process.execPath, ...flags, LAUNCHER].map(shellQuote).join(' ');
  const child = spawn(r.binary, ['replicate', '-config', r.configPath, '-exec', exec], {
    // LITESTREAM=true: the services leave checkpoints to Litestream (see packages/shared/src/db.ts).
    env: { ...MALLOC_ENV, ...LITESTREAM_ENV, ...r.env, LITESTREAM: 'true' },
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on('error', (err) => reject(new Error(`run ${r.binary}: ${err.message}`, { cause: err })));
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
  }
}

/** Single-quotes a word for a POSIX-like word splitter. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
