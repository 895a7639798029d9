import { ConfigError } from '@mosis/shared';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOffsite, type Offsite } from './offsite/config.js';
import { startOffsiteSync } from './offsite/periodic.js';
import { waitForQuiet } from './quiet.js';

/** Entry points of the two services, next to this package in the workspace (source and image alike). */
export const SERVICES = {
  'core-api': fileURLToPath(new URL('../../core-api/dist/main.js', import.meta.url)),
  ingest: fileURLToPath(new URL('../../ingest/dist/main.js', import.meta.url)),
} as const;

/** The launcher's own built entry point (from `src/` and `dist/` alike): what Litestream's -exec runs. */
export const LAUNCHER = fileURLToPath(new URL('../dist/launcher.js', import.meta.url));

/** How long the launcher waits for its children after forwarding a signal before it kills them. */
export const CHILD_STOP_TIMEOUT_MS = 8_000;
/** How often the launcher checks, under Litestream, that Litestream (its parent) is still there. */
export const PARENT_CHECK_INTERVAL_MS = 1_000;
/**
 * Under Litestream, the launcher stays after both services stopped until Litestream's files (replicas in
 * BACKUP_DIR, shadow WALs in DATA_DIR) have not changed for LITESTREAM_QUIET_MS, two of its 1 s ticks:
 * it then has copied, checkpointed and shipped the last WAL frames in its normal loop. Left to its
 * shutdown path, v0.3.13 still ships them but can fail there ("error closing db": a checkpoint on a
 * cancelled context, benbjohnson/litestream#601, or two goroutines writing the same segment) and exit 1.
 */
export const LITESTREAM_QUIET_MS = 2_000;
/** The longest the launcher waits for Litestream to go quiet before it exits anyway. */
export const LITESTREAM_QUIET_MAX_MS = 20_000;

/**
 * Runs both services as child processes sharing this process's environment and stdio. A signal
 * (SIGTERM, SIGINT) is forwarded to both; if either exits on its own, the other is stopped too and the
 * launcher exits non-zero, so a supervisor (Docker, Litestream's -exec) sees the failure.
 *
 * Under Litestream (`LITESTREAM=true`, set by `ops replicate` and the image) the launcher is the child of
 * `litestream replicate -exec`, which forwards SIGTERM/SIGINT to it, waits for it to exit, then syncs a
 * last time. Should Litestream die, the services would go on writing with checkpoints switched off and
 * nothing replicated: the launcher then stops them and exits non-zero so that the container restarts.
 */
export function launch(): void {
  const underLitestream = /^(true|1|yes)$/i.test(process.env.LITESTREAM ?? '');
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  let exitCode = 0;
  // Package files and the device-hash secret to the off-site SFTP replica (Litestream copies only the
  // databases); an invalid OFFSITE_* stops the start here, before the services.
  let offsite: Offsite | undefined;
  try {
    offsite = loadOffsite(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`launcher: ${err.message}`);
    process.exit(2);
  }
  const offsiteSync = offsite?.kind === 'sftp' ? startOffsiteSync(offsite, resolve(process.env.DATA_DIR || './data'), (line) => console.error(`launcher: ${line}`)) : undefined;

  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    offsiteSync?.stop();
    for (const child of children.values()) child.kill(signal);
    setTimeout(() => {
      for (const child of children.values()) child.kill('SIGKILL');
    }, CHILD_STOP_TIMEOUT_MS).unref();
  };

  for (const [name, entry] of Object.entries(SERVICES)) {
    const child = spawn(process.execPath, [entry], { stdio: 'inherit', env: process.env });
    children.set(name, child);
    child.on('exit', (code, signal) => {
      children.delete(name);
      if (code !== 0) {
        exitCode = 1;
        console.error(`launcher: ${name} exited with ${signal ?? `code ${code}`}`);
      }
      if (!stopping) {
        exitCode = 1;
        stopAll('SIGTERM');
      }
      if (children.size === 0) {
        if (underLitestream) void litestreamQuiet().then(() => process.exit(exitCode));
        else process.exit(exitCode);
      }
    });
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stopAll(signal));

  if (underLitestream) {
    const parent = process.ppid;
    setInterval(() => {
      if (stopping || process.ppid === parent) return;
      console.error(`launcher: Litestream (pid ${parent}) is gone; stopping the services`);
      exitCode = 1;
      stopAll('SIGTERM');
    }, PARENT_CHECK_INTERVAL_MS).unref();
  }
}

/** Waits until Litestream's directories are quiet (see LITESTREAM_QUIET_MS). */
function litestreamQuiet(): Promise<number> {
  const dataDir = resolve(process.env.DATA_DIR || './data');
  const dirs = [join(dataDir, '.portal.db-litestream'), join(dataDir, '.telemetry.db-litestream')];
  if (process.env.BACKUP_DIR) dirs.push(resolve(process.env.BACKUP_DIR));
  return waitForQuiet(dirs, LITESTREAM_QUIET_MS, LITESTREAM_QUIET_MAX_MS);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) launch();
