import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { event, startTestIngest } from '../testing.js';
import { BodyBudget, GZIP_RESERVE_FACTOR, reservationFor } from './body-budget.js';

const APP = 'com.dev.app';
const MiB = 1024 * 1024;

describe('body budget', () => {
  it('reserves the declared length, the limit when undeclared, and an estimate for gzip', () => {
    expect(reservationFor('1000', undefined, MiB)).toBe(1000);
    expect(reservationFor(undefined, undefined, MiB)).toBe(MiB);
    expect(reservationFor('nonsense', undefined, MiB)).toBe(MiB);
    expect(reservationFor('1000', 'gzip', MiB)).toBe(1000 * GZIP_RESERVE_FACTOR);
    expect(reservationFor('500000', 'gzip', MiB)).toBe(MiB);
  });

  it('lets one request through alone and refuses what would pass the bound', () => {
    const b = new BodyBudget(100);
    expect(b.tryReserve(150)).toBe(true);
    expect(b.tryReserve(1)).toBe(false);
    b.release(150);
    expect(b.tryReserve(60)).toBe(true);
    expect(b.tryReserve(40)).toBe(true);
    expect(b.tryReserve(1)).toBe(false);
    expect(b.inUse).toBe(100);
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
    } finally {
      await t.stop();
    }
  });

  it('admits a gzip body that inflates far past its estimate, reserving the rest only while it is parsed', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }], env: { INGEST_MAX_BODY_BYTES_IN_FLIGHT: String(4 * MiB) } });
    try {
      // ~900 KB of JSON in a few KB of gzip, far past 16x its compressed size; parsing is synchronous, so
      // the top-ups of concurrent requests never add up and all of them fit.
      const body = JSON.stringify({ events: Array.from({ length: 100 }, () => event(APP, { data: { pad: 'x'.repeat(8_000) } })) });
      const gz = gzipSync(body);
      expect(body.length).toBeGreaterThan(GZIP_RESERVE_FACTOR * gz.length);
      const responses = await Promise.all(
        Array.from({ length: 12 }, () => t.post('/v1/events', undefined, { raw: gz, headers: { 'content-encoding': 'gzip' } })),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(12).fill(202));
      expect(t.budget.inUse).toBe(0);
    } finally {
      await t.stop();
    }
  });
});
