import { PG_READY_TIMEOUT_MS } from '../../limits.js';
import { openPgPool, type PgClient } from './pool.js';

/**
 * Readiness of the telemetry PostgreSQL (/readyz): `SELECT 1`, given up after PG_READY_TIMEOUT_MS, on a
 * one-connection pool of its own. Of its own so that a probe neither waits behind the writer's connections
 * nor takes one of them, and so that the work's pool keeps its longer connect timeout. A server that accepts
 * connections but never answers (hung, or a half-dead network path) then costs /readyz at most the bound.
 */

export interface PgReadiness {
  /** True when the server answered within the bound; never rejects. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

export function openPgReadiness(url: string, opts: { applicationName: string; timeoutMs?: number }): PgReadiness {
  const timeoutMs = opts.timeoutMs ?? PG_READY_TIMEOUT_MS;
  const pool = openPgPool(url, { max: 1, applicationName: opts.applicationName, connectTimeoutMs: timeoutMs });
  return {
    async ready() {
      let client: PgClient | undefined;
      let done = false;
      /** Gives the connection back once: kept when it answered, closed (destroy) when it failed or hung. */
      const giveBack = (destroy: boolean) => {
        if (!client) return;
        const c = client;
        client = undefined;
        c.release(destroy);
      };
      const probe = (async () => {
        const c = await pool.connect();
        if (done) {
          c.release(true);
          return false;
        }
        client = c;
        try {
          await c.query('SELECT 1');
          giveBack(false);
          return true;
        } catch {
          giveBack(true);
          return false;
        }
      })().catch(() => false);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, timeoutMs, false)));
      try {
        return await Promise.race([probe, timeout]);
      } finally {
        done = true;
        clearTimeout(timer);
        // Still waiting for an answer: that connection is of no more use (the slot frees at once).
        giveBack(true);
      }
    },
    close: () => pool.end(),
  };
}
