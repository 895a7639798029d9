import { describe, expect, it } from 'vitest';
import { event, startTestIngest } from '../../testing.js';

// The writer thread behind the group-commit writer. The tests keep a commit in flight deterministically: by
// holding telemetry.db's write lock on the test's own connection (the thread waits for it), or, to end the
// thread mid-write, with its test gate; they wait on the writer's state, never on time.
const APP = 'com.dev.app';

describe('writer thread', () => {
  it('starts on the first write, not before', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }] });
    try {
      expect(t.store.running).toBe(false);
      expect((await t.post('/v1/events', { events: [event(APP)] })).status).toBe(202);
      expect([t.store.running, t.store.started]).toEqual([true, 1]);
    } finally {
      await t.stop();
    }
  });

  it('answers 503 (never 202) for the requests a dead thread took with it, stores none, and starts a new thread', async () => {
    const gate = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(gate, 0, 1);
    const t = await startTestIngest({ apps: [{ packageId: APP }], writerGate: gate });
    try {
      expect((await t.post('/v1/events', { events: [event(APP)] })).status).toBe(202);
      Atomics.store(gate, 0, 0);
      const lost = [t.post('/v1/events', { events: [event(APP), event(APP)] }), t.post('/v1/events', { events: [event(APP)] })];
      await t.writer.when(() => t.writer.committing && t.store.pending === 1);
      await t.store.kill();
      Atomics.store(gate, 0, 1);
      const answers = await Promise.all(lost);
      expect(answers.map((r) => r.status)).toEqual([503, 503]);
      expect(answers[0]!.headers.get('retry-after')).toBe('1');
      expect(t.count()).toBe(1);
      // The next request gets a fresh thread.
      expect((await t.post('/v1/events', { events: [event(APP)] })).status).toBe(202);
      expect(t.store.started).toBe(2);
      expect(t.count()).toBe(2);
    } finally {
      await t.stop();
    }
  });

  it('keeps queueing while a commit is in flight, up to the queue bound (503 past it), then commits what queued', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }], env: { INGEST_QUEUE_MAX_EVENTS: '1000' } });
    try {
      expect((await t.post('/v1/events', { events: [event(APP)] })).status).toBe(202);
      t.telemetry.exec('BEGIN IMMEDIATE');
      const inFlight = t.post('/v1/events', { events: [event(APP)] });
      await t.writer.when(() => t.writer.committing);
      // The commit in flight waits for the lock; the event loop goes on reading requests into the queue.
      const queued = t.post('/v1/events', { events: Array.from({ length: 999 }, () => event(APP)) });
      // The queue counts the rows in flight until their commit answers: 1 + 999 is its bound.
      await t.writer.when(() => t.writer.depth === 1000);
      const refused = await t.post('/v1/events', { events: [event(APP)] });
      expect(refused.status).toBe(503);
      expect(t.writer.committing).toBe(true);
      t.telemetry.exec('ROLLBACK');
      expect([(await inFlight).status, (await queued).status]).toEqual([202, 202]);
      expect(t.count()).toBe(1001);
    } finally {
      await t.stop();
    }
  });

  it('on close, commits the write in flight and everything queued, then ends the thread', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }] });
    try {
      expect((await t.post('/v1/events', { events: [event(APP)] })).status).toBe(202);
      t.telemetry.exec('BEGIN IMMEDIATE');
      const sends = [t.post('/v1/events', { events: [event(APP)] })];
      await t.writer.when(() => t.writer.committing);
      sends.push(t.post('/v1/events', { events: [event(APP), event(APP)] }));
      await t.writer.when(() => t.writer.depth === 3);
      const closed = t.close();
      t.telemetry.exec('ROLLBACK');
      await closed;
      expect((await Promise.all(sends)).map((r) => r.status)).toEqual([202, 202]);
      expect(t.store.running).toBe(false);
      expect(t.count()).toBe(4);
    } finally {
      await t.stop();
    }
  });
});
