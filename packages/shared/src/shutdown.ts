import { fileURLToPath } from 'node:url';
import type { Logger } from './logger.js';

/** How long shutdown may take before the process gives up and exits non-zero. */
export const SHUTDOWN_TIMEOUT_MS = 4_500;

/** A started service, as whoever runs it sees it: its own main, or the launcher running both in one process. */
export interface ServiceHandle {
  readonly name: string;
  /**
   * Stops the service: new requests refused, those in flight answered, queued writes committed, databases
   * closed. Idempotent; rejects if a step failed.
   */
  stop(reason?: string): Promise<void>;
}

/** A service's stop(): runs `steps` once, in order, logging when it begins and when it is done. */
export function stopInOrder(log: Logger, steps: Array<() => unknown>): (reason?: string) => Promise<void> {
  let stopping: Promise<void> | undefined;
  return (reason) =>
    (stopping ??= (async () => {
      log.info('shutting down', { signal: reason });
      try {
        for (const step of steps) await step();
      } catch (err) {
        log.error('shutdown failed', { err });
        throw err;
      }
      log.info('stopped');
    })());
}

/**
 * Stops every service at once. 'stopped' when all did within `timeoutMs`; 'failed' when one failed (its
 * stop logged why); 'timeout' otherwise.
 */
export async function stopAll(services: ServiceHandle[], reason: string, timeoutMs = SHUTDOWN_TIMEOUT_MS): Promise<'stopped' | 'failed' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const stopped = Promise.allSettled(services.map((s) => s.stop(reason))).then((results) =>
    results.every((r) => r.status === 'fulfilled') ? ('stopped' as const) : ('failed' as const),
  );
  try {
    return await Promise.race([stopped, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A service run on its own: on SIGTERM or SIGINT it stops, then the process exits 0; 1 if that failed or took
 * longer than SHUTDOWN_TIMEOUT_MS. A second signal while stopping changes nothing.
 */
export function exitOnSignal(service: ServiceHandle, log: Logger): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const outcome = await stopAll([service], signal);
    if (outcome === 'timeout') log.error('shutdown timed out', { timeout_ms: SHUTDOWN_TIMEOUT_MS });
    process.exit(outcome === 'stopped' ? 0 : 1);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** True when the module at `url` (its import.meta.url) is the script Node was started with. */
export function isMainModule(url: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(url) === process.argv[1];
}
