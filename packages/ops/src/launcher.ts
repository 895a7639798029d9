import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Entry points of the two services, next to this package in the workspace (source and image alike). */
export const SERVICES = {
  'core-api': fileURLToPath(new URL('../../core-api/dist/main.js', import.meta.url)),
  ingest: fileURLToPath(new URL('../../ingest/dist/main.js', import.meta.url)),
} as const;

/** How long the launcher waits for its children after forwarding a signal before it kills them. */
export const CHILD_STOP_TIMEOUT_MS = 8_000;

/**
 * Runs both services as child processes sharing this process's environment and stdio. A signal
 * (SIGTERM, SIGINT) is forwarded to both; if either exits on its own, the other is stopped too and the
 * launcher exits non-zero, so a supervisor (Docker, Litestream's -exec) sees the failure.
 */
export function launch(): void {
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
      if (children.size === 0) process.exit(exitCode);
    });
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stopAll(signal));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) launch();
