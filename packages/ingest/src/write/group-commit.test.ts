import { describe, expect, it } from 'vitest';
import { event, startTestIngest } from '../testing.js';

const APP = 'com.dev.app';
type Body = { accepted: number; duplicates: number };

describe('group commit', () => {
  it('commits many concurrent requests in a few transactions and answers each after the commit', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }], env: { INGEST_FLUSH_INTERVAL_MS: '20' } });
    try {
      const flushes: number[] = [];
      const write = t.store.write.bind(t.store);
      t.store.write = (requests) => {
        flushes.push(requests.length);
        return write(requests);
      };
      const responses = await Promise.all(Array.from({ length: 40 }, () => t.post('/v1/events', { events: [event(APP), event(APP)] })));
      expect(responses.every((r) => r.status === 202)).toBe(true);
      expect(flushes.reduce((a, b) => a + b, 0)).toBe(40);
      expect(flushes.length).toBeLessThan(5);
      expect(t.count()).toBe(80);
    } finally {
      await t.stop();
    }
  });

  it('answers 503 with Retry-After at once when the queue is over its bound, storing nothing of that request', async () => {
    // A long flush interval holds the first 1000 events in the queue; the bound is 1000.
    const t = await startTestIngest({ apps: [{ packageId: APP }], env: { INGEST_QUEUE_MAX_EVENTS: '1000', INGEST_FLUSH_INTERVAL_MS: '1000', INGEST_FLUSH_MAX_EVENTS: '100000' } });
    try {
      const held = t.post('/v1/events', { events: Array.from({ length: 1000 }, () => event(APP)) });
      await new Promise((r) => setTimeout(r, 100));
      expect(t.writer.depth).toBe(1000);
      const refused = await t.post('/v1/events', { events: [event(APP)] });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unavailable');
      const ready = await t.app.request('/readyz');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ checks: { queue: false } });

      expect(((await (await held).json()) as Body).accepted).toBe(1000);
      expect(t.count()).toBe(1000);
      expect((await t.app.request('/readyz')).status).toBe(200);
      const metrics = await (await t.app.request('/metrics')).text();
      expect(metrics).toMatch(/ingest_refused_requests_total\{reason="queue_full",service="ingest"\} 1/);
    } finally {
      await t.stop();
    }
  });

  it('isolates a request whose rows cannot be written: the others still commit', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }], env: { INGEST_FLUSH_INTERVAL_MS: '20' } });
    try {
      const write = t.store.write.bind(t.store);
      t.store.write = (requests) => {
        if (requests.some((r) => r.rows.some((row) => 'eventType' in row && row.eventType === 'poison'))) throw new Error('disk says no');
        return write(requests);
      };
      const [good, bad, good2] = await Promise.all([
        t.post('/v1/events', { events: [event(APP)] }),
        t.post('/v1/events', { events: [event(APP, { event_type: 'poison' })] }),
        t.post('/v1/events', { events: [event(APP)] }),
      ]);
      expect([good.status, bad.status, good2.status]).toEqual([202, 503, 202]);
      expect(bad.headers.get('retry-after')).toBe('1');
      expect(t.count()).toBe(2);
    } finally {
      await t.stop();
    }
  });

  it('reports accepted, rejected by reason, duplicates and flush sizes in /metrics', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }] });
    try {
      const e = event(APP);
      await t.post('/v1/events', { events: [e, e, event('com.nope')] });
      const text = await (await t.app.request('/metrics')).text();
      expect(text).toMatch(/ingest_accepted_total\{kind="events",service="ingest"\} 1/);
      expect(text).toMatch(/ingest_duplicates_total\{kind="events",service="ingest"\} 1/);
      expect(text).toMatch(/ingest_rejected_total\{kind="events",reason="unknown_app",service="ingest"\} 1/);
      expect(text).toMatch(/ingest_flush_rows_count\{service="ingest"\} 1/);
      expect(text).toMatch(/ingest_flush_duration_seconds_bucket/);
      expect(text).toMatch(/ingest_queue_depth\{service="ingest"\} 0/);
    } finally {
      await t.stop();
    }
  });

  it('runs exclusive writes between flushes and reloads its partition cache after them', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }] });
    try {
      await t.post('/v1/events', { events: [event(APP)] });
      const { dropPartition, listPartitions } = await import('../store/partitions.js');
      await t.writer.exclusive(() => {
        for (const p of listPartitions(t.telemetry)) dropPartition(t.telemetry, p.name);
      });
      const res = await t.post('/v1/events', { events: [event(APP)] });
      expect(res.status).toBe(202);
      expect(t.count()).toBe(1);
    } finally {
      await t.stop();
    }
  });
});
