import { serve, type ServerType } from '@hono/node-server';
import type { Server } from 'node:http';
import type { Logger } from './logger.js';

/** How long shutdown may take before the process gives up and exits non-zero. */
export const SHUTDOWN_TIMEOUT_MS = 4_500;

export interface RunningServer {
  server: ServerType;
  port: number;
  /** Stops accepting connections and resolves once in-flight requests have been answered. */
  close(): Promise<void>;
}

/** Starts an HTTP server for a fetch handler; resolves once it listens. Port 0 picks a free port. */
export function startServer(fetch: (req: Request) => Response | Promise<Response>, port: number, hostname: string): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname }, (info) => {
      resolve({
        server,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            const http = server as Server;
            http.close(() => done());
            // Idle keep-alive sockets would hold close() open until they time out.
            http.closeIdleConnections?.();
          }),
      });
    });
    server.once('error', reject);
  });
}

/**
 * Runs `steps` in order on SIGTERM or SIGINT, then exits 0; exits 1 if they fail or take longer than
 * SHUTDOWN_TIMEOUT_MS. A second signal while shutting down is ignored (the steps are already running).
 */
export function onShutdown(log: Logger, steps: Array<() => unknown>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    const timer = setTimeout(() => {
      log.error('shutdown timed out', { timeout_ms: SHUTDOWN_TIMEOUT_MS });
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    try {
      for (const step of steps) await step();
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error('shutdown failed', { err });
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
