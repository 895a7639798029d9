import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
 * Under Litestream, how long the launcher stays after both services stopped: two of Litestream's 1 s
 * monitor ticks, so that it copies and checkpoints the last WAL frames in its normal loop. Left to its
 * shutdown path, v0.3.13 still ships the frames but can fail the checkpoint there ("error closing db ...
 * context canceled", benbjohnson/litestream#601) and exit 1.
 */
export const LITESTREAM_LINGER_MS = 2_000;

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

  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
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
        if (underLitestream) setTimeout(() => process.exit(exitCode), LITESTREAM_LINGER_MS);
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

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) launch();
