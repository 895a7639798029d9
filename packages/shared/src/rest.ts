import type { DB } from './db.js';
import { IDLE_RELEASE_AFTER_MS } from './limits.js';
import type { Logger } from './logger.js';
import type { DirectHandler } from './server.js';

/** A service's watch for rest. `check()` runs on a timer; tests call it with their own clock. */
export interface IdleRelease {
  /** Marks a request as load when it is one (a /v1 path); `url` is a full URL or a request target (`/v1/...`). */
  touch(url: string): void;
  /** Releases once if the service was busy and no /v1 request came for `idleMs`. Returns whether it did. */
  check(): Promise<boolean>;
  /** How many times memory was released. */
  readonly releases: number;
  stop(): void;
}

/**
 * Gives back memory a service needs only under load, once it is at rest: `release` runs when no /v1 request
 * came for `idleMs` after one did (or since the start, whose migrations and first reads fill caches too),
 * then not again until the next request. Health checks and scrapes (outside /v1) do not count as load.
 */
export function releaseWhenIdle(opts: { release: () => unknown; log: Logger; idleMs?: number; now?: () => number }): IdleRelease {
  const idleMs = opts.idleMs ?? IDLE_RELEASE_AFTER_MS;
  const now = opts.now ?? Date.now;
  let busy = true;
  let last = now();
  let releases = 0;
  const check = async () => {
    if (!busy || now() - last < idleMs) return false;
    busy = false;
    releases++;
    try {
      await opts.release();
    } catch (err) {
      opts.log.warn('releasing memory at rest failed', { err });
    }
    return true;
  };
  const timer = setInterval(() => void check(), Math.max(1_000, idleMs / 3)).unref();
  return {
    touch(url) {
      // The path starts after "http://host" (or at once); no URL parsing on the hot path.
      if (url.startsWith('/v1/', url.charCodeAt(0) === 47 ? 0 : url.indexOf('/', url.indexOf('//') + 2))) {
        busy = true;
        last = now();
      }
    },
    check,
    get releases() {
      return releases;
    },
    stop: () => clearInterval(timer),
  };
}

/** `fetch`, marking each request it answers as load (or not) for `idle`. */
export function touching<A extends unknown[], R>(fetch: (req: Request, ...rest: A) => R, idle: IdleRelease): (req: Request, ...rest: A) => R {
  return (req, ...rest) => {
    idle.touch(req.url);
    return fetch(req, ...rest);
  };
}

/** A direct handler (startServer's), marking each request it takes as load (or not) for `idle`. */
export function touchingDirect(direct: DirectHandler, idle: IdleRelease): DirectHandler {
  return (req, res) => {
    if (!direct(req, res)) return false;
    idle.touch(req.url ?? '');
    return true;
  };
}

/** Frees the unused pages of a connection's page cache (they come back from the OS file cache when needed). */
export function releaseCacheMemory(db: DB | undefined): void {
  if (db?.open) db.pragma('shrink_memory');
}
