import { ApiError } from '@mosis/shared';
import { describe, expect, it } from 'vitest';
import { hitAll, RateLimiter } from './rate-limit.js';

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

  it('forgives the latest hit of a key, so only failures use up the limit', () => {
    const rl = new RateLimiter(2, 60_000);
    for (let i = 0; i < 5; i++) {
      rl.hit('a');
      rl.forgive('a');
    }
    expect(rl.size).toBe(0);
    rl.hit('a');
    rl.hit('a');
    expect(() => rl.hit('a')).toThrow(ApiError);
  });

  it('hitAll records on every limiter or, when one is full, on none', () => {
    const perIp = new RateLimiter(5, 60_000);
    const perEmail = new RateLimiter(1, 60_000);
    hitAll([
      [perIp, 'ip'],
      [perEmail, 'e'],
    ]);
    expect(() =>
      hitAll([
        [perIp, 'ip'],
        [perEmail, 'e'],
      ]),
    ).toThrow(ApiError);
    // The refused attempt was not counted on the IP: four more fit.
    for (let i = 0; i < 4; i++) hitAll([[perIp, 'ip']]);
    expect(() => hitAll([[perIp, 'ip']])).toThrow(ApiError);
  });
});
