import { ApiError } from '@mosis/shared';
import { RATE_LIMIT_MAX_KEYS } from '../limits.js';

/**
 * An in-memory sliding-window rate limiter: at most `max` hits per key within `windowMs`. One process owns
 * portal.db, so memory is the right place; a restart forgets the counts, which only favours the client.
 */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = RATE_LIMIT_MAX_KEYS,
  ) {}

  /**
   * Records a hit for `key`; throws 429 `rate_limited` with Retry-After (whole seconds until the oldest hit
   * in the window expires) when the key is already at its limit. A refused hit is not recorded.
   */
  hit(key: string): void {
    const retry = this.retryAfterMs(key);
    if (retry > 0) throw ApiError.rateLimited(Math.max(1, Math.ceil(retry / 1000)));
    if (!this.hits.has(key) && this.hits.size >= this.maxKeys) this.sweep();
    const list = this.hits.get(key) ?? [];
    list.push(this.now());
    this.hits.set(key, list);
  }

  /**
   * Takes back the latest hit of `key` (an attempt that turned out legitimate, e.g. a successful login), so
   * only failures use up the limit. Hits are recorded before the outcome is known, so that attempts in
   * flight together are all counted.
   */
  forgive(key: string): void {
    const list = this.hits.get(key);
    list?.pop();
    if (list?.length === 0) this.hits.delete(key);
  }

  /** Milliseconds until `key` may hit again; 0 when it may now. */
  retryAfterMs(key: string): number {
    const list = this.hits.get(key);
    if (!list) return 0;
    const cutoff = this.now() - this.windowMs;
    while (list.length && list[0]! <= cutoff) list.shift();
    if (!list.length) {
      this.hits.delete(key);
      return 0;
    }
    return list.length >= this.max ? list[0]! + this.windowMs - this.now() : 0;
  }

  /** Drops keys with no hit inside the window; if every key is live, the oldest-inserted half goes. */
  private sweep(): void {
    for (const key of [...this.hits.keys()]) this.retryAfterMs(key);
    if (this.hits.size < this.maxKeys) return;
    let drop = Math.ceil(this.hits.size / 2);
    for (const key of this.hits.keys()) {
      if (drop-- <= 0) break;
      this.hits.delete(key);
    }
  }

  /** Number of keys tracked (for tests). */
  get size(): number {
    return this.hits.size;
  }
}

/**
 * Records one hit on each of several limiters, or on none: when any of them is at its limit, throws its 429
 * (the longest Retry-After) and records nothing, so a refused attempt does not count against the others.
 */
export function hitAll(hits: ReadonlyArray<readonly [RateLimiter, string]>): void {
  const retry = Math.max(0, ...hits.map(([limiter, key]) => limiter.retryAfterMs(key)));
  if (retry > 0) throw ApiError.rateLimited(Math.max(1, Math.ceil(retry / 1000)));
  for (const [limiter, key] of hits) limiter.hit(key);
}
