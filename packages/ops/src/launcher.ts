import { ConfigError, envBoolean, isMainModule, loadConfig } from '@mosis/shared';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { runInProcess, type RunningServices } from './in-process.js';
import { loadOffsite, type Offsite } from './offsite/config.js';
import { startOffsiteSync } from './offsite/periodic.js';
import { waitForQuiet } from './quiet.js';

/**
 * Entry points of the two services, next to this package in the workspace (source and image alike): what
 * the launcher runs as child processes with SERVICES_IN_ONE_PROCESS=false.
 */
export const SERVICES = {
  'core-api': fileURLToPath(new URL('../../core-api/dist/main.js', import.meta.url)),
  ingest: fileURLToPath(new URL('../../ingest/dist/main.js', import.meta.url)),
} as const;

/** The launcher's own built entry point (from `src/` and `dist/` alike): what Litestream's -exec runs. */
export const LAUNCHER = fileURLToPath(new URL('../dist/launcher.js', import.meta.url));

/**
 * V8's semi-space size for the services' process, in MiB, unless V8_SEMI_SPACE_MIB says otherwise: 4 instead
 * of up to 16, which after a burst stay at their largest (README, "Memory at rest"). Against 1, 4 gave 15-20%
 * more throughput under device traffic, in both stacks (fewer scavenges), and the image stayed within its
 * 150 MiB at rest (README, "Benchmarks").
 */
export const DEFAULT_SEMI_SPACE_MIB = 4;
const nodeFlagsSchema = z.object({ V8_SEMI_SPACE_MIB: z.coerce.number().int().min(1).max(64).default(DEFAULT_SEMI_SPACE_MIB) });

/**
 * Node flags of the services' process, wherever it starts (`ops replicate`, the image's entrypoint, the
 * launcher's children; `npm start` passes the same flag itself): V8's young generation in semi-spaces of
 * V8_SEMI_SPACE_MIB. Throws ConfigError for a value that is not a whole number from 1 to 64.
 */
export function nodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  return [`--max-semi-space-size=${loadConfig(nodeFlagsSchema, env).V8_SEMI_SPACE_MIB}`];
}

/**
 * glibc's malloc keeps an arena per thread that allocated (libuv's pool, the worker threads), each holding
 * freed memory; two are enough for these threads. Set in the environment of the services' process by the
 * same starters as nodeFlags() (a variable already set wins).
 */
export const MALLOC_ENV = { MALLOC_ARENA_MAX: '2' } as const;

/** With SERVICES_IN_ONE_PROCESS=false: how long the launcher waits for its children after forwarding a signal before it kills them. */
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

/** How the launcher runs the services: SERVICES_IN_ONE_PROCESS, in its own process by default. */
const launcherSchema = nodeFlagsSchema.extend({ SERVICES_IN_ONE_PROCESS: envBoolean.default(true) });

/**
 * Runs both services, by default in this process (in-process.ts); with SERVICES_IN_ONE_PROCESS=false as
 * two child processes sharing this process's environment and stdio (to restart or profile one alone). A
 * signal (SIGTERM, SIGINT) stops both; if either fails or crashes, the other is stopped too and the launcher
 * exits non-zero, so a supervisor (Docker, Litestream's -exec) sees the failure.
 *
 * Under Litestream (`LITESTREAM=true`, set by `ops replicate` and the image) the launcher is the child of
 * `litestream replicate -exec`, which forwards SIGTERM/SIGINT to it, waits for it to exit, then syncs a
 * last time. Should Litestream die, the services would go on writing with checkpoints switched off and
 * nothing replicated: the launcher then stops them and exits non-zero so that the container restarts.
 */
export function launch(): void {
  const underLitestream = /^(true|1|yes)$/i.test(process.env.LITESTREAM ?? '');
  let stopping = false;
  let exitCode = 0;
  // Package files and the device-hash secret to the off-site SFTP replica (Litestream copies only the
  // databases); an invalid OFFSITE_* or SERVICES_IN_ONE_PROCESS stops the start here, before the services.
  let offsite: Offsite | undefined;
  let inOneProcess: boolean;
  try {
    offsite = loadOffsite(process.env);
    inOneProcess = loadConfig(launcherSchema).SERVICES_IN_ONE_PROCESS;
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
    services.stop(signal);
  };
  /** A service failed, or Litestream is gone: stop the rest and exit non-zero. */
  const failed = () => {
    exitCode = 1;
    stopAll('SIGTERM');
  };
  const services = inOneProcess ? runInProcess(failed) : runChildren(failed);
  void services.done.then(async (code) => {
    if (underLitestream) await litestreamQuiet();
    process.exit(Math.max(code, exitCode));
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stopAll(signal));

  if (underLitestream) {
    const parent = process.ppid;
    setInterval(() => {
      if (stopping || process.ppid === parent) return;
      console.error(`launcher: Litestream (pid ${parent}) is gone; stopping the services`);
      failed();
    }, PARENT_CHECK_INTERVAL_MS).unref();
  }
}

/** Each service in a child process of its own; a child that exits on its own counts as a failure. */
function runChildren(onFailure: () => void): RunningServices {
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  let code = 0;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));

  for (const [name, entry] of Object.entries(SERVICES)) {
    const child = spawn(process.execPath, [...nodeFlags(), entry], { stdio: 'inherit', env: { ...MALLOC_ENV, ...process.env } });
    children.set(name, child);
    child.on('exit', (exit, signal) => {
      children.delete(name);
      if (exit !== 0) {
        code = 1;
        console.error(`launcher: ${name} exited with ${signal ?? `code ${exit}`}`);
      }
      if (!stopping) {
        code = 1;
        onFailure();
      }
      if (children.size === 0) resolveDone(code);
    });
  }

  return {
    stop(signal) {
      if (stopping) return;
      stopping = true;
      for (const child of children.values()) child.kill(signal);
      setTimeout(() => {
        for (const child of children.values()) child.kill('SIGKILL');
      }, CHILD_STOP_TIMEOUT_MS).unref();
    },
    done,
  };
}

/** Waits until Litestream's directories are quiet (see LITESTREAM_QUIET_MS). */
function litestreamQuiet(): Promise<number> {
  const dataDir = resolve(process.env.DATA_DIR || './data');
  const dirs = [join(dataDir, '.portal.db-litestream'), join(dataDir, '.telemetry.db-litestream')];
  if (process.env.BACKUP_DIR) dirs.push(resolve(process.env.BACKUP_DIR));
  return waitForQuiet(dirs, LITESTREAM_QUIET_MS, LITESTREAM_QUIET_MAX_MS);
}

if (isMainModule(import.meta.url)) launch();
