import { createLogger, openDatabase } from '@mosis/shared';
import type { FlushStats } from './group-commit.js';
import { describe, expect, it } from 'vitest';
import { event, startTestIngest, type TestIngest } from '../testing.js';
import { GroupCommitWriter } from './group-commit.js';
import { WalIndexReader } from '../store/sqlite/wal-index.js';

const APP = 'com.dev.app';
type Body = { accepted: number; duplicates: number };

describe('group commit', () => {
  it('commits the requests waiting together in one transaction and answers each only after the commit', async () => {
    let held = true;
    const t = await startTestIngest({ apps: [{ packageId: APP }], hold: () => held });
    try {
      const flushes: number[] = [];
      let answered = 0;
      const write = t.store.write.bind(t.store);
      t.store.write = (requests) => {
        // Nothing is answered before its commit.
        expect(answered).toBe(0);
        flushes.push(requests.length);
        return write(requests);
      };
      const sends = Array.from({ length: 40 }, () => t.post('/v1/events', { events: [event(APP), event(APP)] }).then((r) => (answered++, r)));
      await t.writer.when(() => t.writer.depth === 80 && t.writer.holding);
      held = false;
      const responses = await Promise.all(sends);
      expect(responses.every((r) => r.status === 202)).toBe(true);
      expect(flushes).toEqual([40]);
      expect(t.count()).toBe(80);
    } finally {
      await t.stop();
    }
  });

  it('keeps a request arriving at an idle writer for others, but commits at once while commits follow each other', async () => {
    // A long interval (the most the config takes), so a request kept waiting shows as still queued.
    const t = await startTestIngest({ apps: [{ packageId: APP }], env: { INGEST_FLUSH_INTERVAL_MS: '1000' } });
    const nextTurn = () => new Promise((r) => setImmediate(r));
    try {
      // Idle writer: the first request waits for company.
      const first = t.post('/v1/events', { events: [event(APP)] });
      await t.writer.when(() => t.writer.depth === 1);
      await nextTurn();
      expect([t.writer.depth, t.writer.committing]).toEqual([1, false]);
      await t.writer.idle();
      expect((await first).status).toBe(202);

      // A commit just ended: the next request goes at once, on the next turn of the event loop.
      const second = t.post('/v1/events', { events: [event(APP)] });
      await t.writer.when(() => t.writer.depth === 1 || t.writer.committing);
      await nextTurn();
      expect(t.writer.depth === 0 || t.writer.committing).toBe(true);
      expect((await second).status).toBe(202);
      expect(t.count()).toBe(2);
    } finally {
      await t.stop();
    }
  });

  it('answers 503 with Retry-After at once when the queue is over its bound, storing nothing of that request, and logs it once', async () => {
    // The writer holds the first 1000 events in the queue; the bound is 1000.
    let holding = true;
    const lines: string[] = [];
    const t = await startTestIngest({ apps: [{ packageId: APP }], env: { INGEST_QUEUE_MAX_EVENTS: '1000' }, hold: () => holding, log: (line) => lines.push(line) });
    try {
      const held = t.post('/v1/events', { events: Array.from({ length: 1000 }, () => event(APP)) });
      await t.writer.when(() => t.writer.depth === 1000 && t.writer.holding);
      const refused = await t.post('/v1/events', { events: [event(APP)] });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unavailable');
      const ready = await t.app.request('/readyz');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ checks: { queue: false } });
      for (let i = 0; i < 5; i++) expect((await t.post('/v1/events', { events: [event(APP)] })).status).toBe(503);

      holding = false;
      expect(((await (await held).json()) as Body).accepted).toBe(1000);
      // A state change, logged once each way; the refused requests are only counted.
      expect(lines.map((l) => (JSON.parse(l) as { level: string; msg: string })).map((l) => [l.level, l.msg])).toEqual([
        ['warn', 'write queue full: refusing new requests (503) until it drains'],
        ['info', 'write queue drained: accepting requests again'],
      ]);
      expect(t.count()).toBe(1000);
      expect((await t.app.request('/readyz')).status).toBe(200);
      const metrics = await (await t.app.request('/metrics')).text();
      expect(metrics).toMatch(/ingest_refused_requests_total\{reason="queue_full",service="ingest"\} 6/);
    } finally {
      await t.stop();
    }
  });

  it('isolates a request whose rows cannot be written: the others in its commit still commit', async () => {
    let held = true;
    const t = await startTestIngest({ apps: [{ packageId: APP }], hold: () => held });
    try {
      const write = t.store.write.bind(t.store);
      const groups: number[] = [];
      t.store.write = (requests) => {
        groups.push(requests.length);
        if (requests.some((r) => r.rows.some((row) => 'eventType' in row && row.eventType === 'poison'))) throw new Error('disk says no');
        return write(requests);
      };
      const sends: [Promise<Response>, Promise<Response>, Promise<Response>] = [
        t.post('/v1/events', { events: [event(APP)] }),
        t.post('/v1/events', { events: [event(APP, { event_type: 'poison' })] }),
        t.post('/v1/events', { events: [event(APP)] }),
      ];
      await t.writer.when(() => t.writer.depth === 3 && t.writer.holding);
      held = false;
      const [good, bad, good2] = await Promise.all(sends);
      // One group commit of the three, then each alone.
      expect(groups).toEqual([3, 1, 1, 1]);
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
      const { dropPartition, listPartitions } = await import('../store/sqlite/partitions.js');
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

describe('replication backpressure (under Litestream)', () => {
  const LITESTREAM_ENV = { LITESTREAM: 'true', INGEST_WAL_MAX_MIB: '8', INGEST_FLUSH_INTERVAL_MS: '1' };
  /** A request of 100 events with ~7 KiB of data each: about 0.7 MiB of WAL. */
  const bigRequest = () => ({ events: Array.from({ length: 100 }, () => event(APP, { data: { blob: 'x'.repeat(7000) } })) });

  /** Commits requests until the WAL is over the 8 MiB bound (nobody checkpoints: no Litestream here). */
  async function fillWal(t: TestIngest): Promise<WalIndexReader> {
    const wal = new WalIndexReader(t.telemetry.name);
    while ((wal.read()?.bytes ?? 0) <= 8 * 1024 * 1024) expect((await t.post('/v1/events', bigRequest())).status).toBe(202);
    return wal;
  }

  it('holds commits while the WAL is over its bound, until the WAL is checkpointed, then starts it over', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }], env: LITESTREAM_ENV });
    try {
      const wal = await fillWal(t);
      let answered = false;
      const held = t.post('/v1/events', { events: [event(APP)] }).then((r) => ((answered = true), r));
      // Queued and held: the writer reports it waits, so the request cannot have been committed.
      await t.writer.when(() => t.writer.depth === 1 && t.writer.holding);
      expect(answered).toBe(false);
      const stored = t.count();

      // Litestream's part: it copies the WAL, then checkpoints it (RESTART) on its own connection.
      const litestream = openDatabase(t.telemetry.name, { litestream: true });
      expect((litestream.pragma('wal_checkpoint(RESTART)') as Array<{ busy: number }>)[0]!.busy).toBe(0);
      litestream.close();

      expect((await held).status).toBe(202);
      expect(t.count()).toBe(stored + 1);
      expect(wal.read()!.bytes).toBeLessThan(1024 * 1024);
      wal.close();
      const metrics = await (await t.app.request('/metrics')).text();
      expect(Number(metrics.match(/ingest_wal_hold_seconds_total\{service="ingest"\} ([\d.e-]+)/)?.[1])).toBeGreaterThan(0);
    } finally {
      await t.stop();
    }
  });

  it('fills the queue while holding: new requests get 503 and /readyz says so', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }], env: { ...LITESTREAM_ENV, INGEST_QUEUE_MAX_EVENTS: '1000' } });
    try {
      (await fillWal(t)).close();
      const held = Array.from({ length: 10 }, () => t.post('/v1/events', { events: Array.from({ length: 100 }, () => event(APP)) }));
      await t.writer.when(() => t.writer.depth === 1000 && t.writer.holding);
      expect((await t.post('/v1/events', { events: [event(APP)] })).status).toBe(503);
      expect((await t.app.request('/readyz')).status).toBe(503);
      // Shutdown does not wait on the hold: everything queued commits.
      await t.close();
      expect((await Promise.all(held)).map((r) => r.status)).toEqual(Array(10).fill(202));
    } finally {
      await t.stop();
    }
  });

  it('writes anyway once a commit has been held for its longest wait', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }] });
    try {
      const flushes: FlushStats[] = [];
      const warnings: string[] = [];
      const writer = new GroupCommitWriter(
        t.store,
        { maxQueuedEvents: 1000, maxQueuedBytes: 1 << 24, flushMaxEvents: 100, flushIntervalMs: 1, hold: () => true, holdMaxMs: 200 },
        createLogger('ingest', 'warn', (line) => warnings.push(line)),
        (s) => flushes.push(s),
      );
      const row = { appId: 'app-1', packageId: APP, deviceHash: 1n, eventType: 'app_open', timestamp: Date.now(), eventId: null, mosisVersion: null, appVersion: null, data: null };
      expect(await writer.submit({ kind: 'events', rows: [row] }, 100)).toEqual({ stored: 1, duplicates: 0 });
      // The writer measured the hold it went through, and said why it wrote anyway.
      expect(flushes).toHaveLength(1);
      expect(flushes[0]!.heldSeconds).toBeGreaterThanOrEqual(0.2);
      expect(warnings.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([expect.stringContaining('writing anyway')]);
      expect(t.count()).toBe(1);
    } finally {
      await t.stop();
    }
  });
});
