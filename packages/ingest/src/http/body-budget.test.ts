import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { event, startTestIngest } from '../testing.js';
import { BodyBudget } from './body-budget.js';

const APP = 'com.dev.app';
const MiB = 1024 * 1024;

describe('body budget', () => {
  it('lets a request grow alone past the bound, refuses what would pass it beside others, and keeps its peak', () => {
    const b = new BodyBudget(100);
    expect(b.tryGrow(0, 80)).toBe(true);
    expect(b.tryGrow(80, 70)).toBe(true);
    expect(b.inUse).toBe(150);
    b.release(150);
    expect(b.tryGrow(0, 60)).toBe(true);
    expect(b.tryGrow(0, 40)).toBe(true);
    expect(b.exhausted).toBe(true);
    expect(b.tryGrow(40, 1)).toBe(false);
    expect(b.inUse).toBe(100);
    expect(b.peak).toBe(150);
  });

  it('answers 503 with Retry-After when too many large bodies arrive at once, and stores the others', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }], env: { INGEST_MAX_BODY_BYTES_IN_FLIGHT: String(4 * MiB) } });
    try {
      const big = () => ({ events: Array.from({ length: 100 }, () => event(APP, { data: { pad: 'x'.repeat(8_000) } })) });
      const responses = await Promise.all(Array.from({ length: 10 }, () => t.post('/v1/events', big())));
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
      expect(statuses.every((s) => s === 202 || s === 503)).toBe(true);
      const refused = responses.find((r) => r.status === 503)!;
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(t.count()).toBe(100 * statuses.filter((s) => s === 202).length);
      expect(t.budget.inUse).toBe(0);
      expect(t.budget.peak).toBeLessThanOrEqual(4 * MiB);
    } finally {
      await t.stop();
    }
  });

  it('counts gzip bodies as they inflate: concurrent near-limit ones never hold more than the bound, and bombs stop at the limit', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }], env: { INGEST_MAX_BODY_BYTES_IN_FLIGHT: String(4 * MiB) } });
    try {
      // ~1000 KB of JSON in a few KB of gzip each: 24 of them inflate to about 6 times the bound.
      const body = JSON.stringify({ events: Array.from({ length: 100 }, () => event(APP, { event_id: undefined, data: { pad: 'x'.repeat(8_000) } })) });
      expect(body.length).toBeGreaterThan(800_000);
      const gz = gzipSync(body);
      const bomb = gzipSync(Buffer.alloc(200 * MiB, 32));
      const sends = Array.from({ length: 24 }, (_, i) =>
        t.post('/v1/events', undefined, { raw: i % 6 === 5 ? bomb : gz, headers: { 'content-encoding': 'gzip' } }),
      );
      const statuses = (await Promise.all(sends)).map((r) => r.status);
      // The bombs: 413 (or 503 when the budget ran out first), never inflated past the limit.
      expect(statuses.filter((s, i) => i % 6 === 5 && s !== 413 && s !== 503)).toEqual([]);
      const plain = statuses.filter((_, i) => i % 6 !== 5);
      expect(plain.every((s) => s === 202 || s === 503)).toBe(true);
      // Inflated bytes are reserved before they are kept: the bound held, so some had to wait (503).
      expect(plain).toContain(503);
      expect(plain).toContain(202);
      expect(t.budget.peak).toBeLessThanOrEqual(4 * MiB);
      expect(t.budget.peak).toBeGreaterThan(MiB);
      expect(t.count()).toBe(100 * plain.filter((s) => s === 202).length);
      expect(t.budget.inUse).toBe(0);
    } finally {
      await t.stop();
    }
  });
});
