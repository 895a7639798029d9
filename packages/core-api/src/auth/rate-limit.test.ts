import { ApiError } from '@mosis/shared';
import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it('allows max hits per window, then 429 with the seconds until the oldest hit leaves it', () => {
    let now = 1_000_000;
    const rl = new RateLimiter(3, 60_000, () => now);
    rl.hit('a');
    now += 10_000;
    rl.hit('a');
    rl.hit('a');
    let err: unknown;
    try {
      rl.hit('a');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(429);
    expect((err as ApiError).code).toBe('rate_limited');
    expect((err as ApiError).headers?.['Retry-After']).toBe('50');
    rl.hit('b'); // other keys are unaffected
    now += 50_000; // the first hit leaves the window
    rl.hit('a');
    expect(() => rl.hit('a')).toThrow(ApiError);
  });

  it('keeps its memory bounded by sweeping stale keys', () => {
    let now = 0;
    const rl = new RateLimiter(1, 1_000, () => now, 10);
    for (let i = 0; i < 10; i++) rl.hit(`k${i}`);
    now += 2_000;
    rl.hit('fresh');
    expect(rl.size).toBe(1);
    for (let i = 0; i < 30; i++) rl.hit(`live${i}`);
    expect(rl.size).toBeLessThanOrEqual(10);
  });
});
