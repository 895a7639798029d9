import { openDatabase, WAL_AUTOCHECKPOINT_PAGES } from '@mosis/shared';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_RESTART_PAGES } from '../../limits.js';
import { event, startTestIngest } from '../../testing.js';
import { WalIndexReader } from './wal-index.js';

const APP = 'com.dev.ckpt';
/** A request of 100 events with ~7 KiB of data each: about 0.7 MiB of WAL. */
const bigRequest = () => ({ events: Array.from({ length: 100 }, () => event(APP, { data: { blob: 'x'.repeat(7000) } })) });
const autocheckpoint = (db: { pragma: (s: string, o: { simple: true }) => unknown }) => db.pragma('wal_autocheckpoint', { simple: true });

describe('checkpointer (without Litestream)', () => {
  it('checkpoints on its own thread, and keeps the WAL bounded under a writer that never pauses', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }] });
    const wal = new WalIndexReader(t.telemetry.name);
    try {
      // The writer's commits never checkpoint.
      expect(autocheckpoint(t.telemetry)).toBe(0);
      let maxBytes = 0;
      let restarts = 0;
      let last = 0;
      // The WAL grows only by commits: read it after each one (a RESTART shows as the WAL starting over).
      const stopSampling = t.writer.onFlush(() => {
        const now = wal.read();
        if (!now) return;
        if (now.frames < last) restarts++;
        last = now.frames;
        maxBytes = Math.max(maxBytes, now.bytes);
      });
      // The RESTART point, plus what commits while a RESTART waits: up to a 2 000-row flush of these fat
      // events (~14 MiB).
      const bound = CHECKPOINT_RESTART_PAGES * 4_120 + 16 * 1024 * 1024;
      // Four clients at once keep a commit always waiting (the writer never pauses), until they have written
      // three times the bound in WAL, however slow the machine.
      const requestsNeeded = Math.ceil((3 * bound) / (0.7 * 1024 * 1024));
      let requests = 0;
      const client = async () => {
        while (requests < requestsNeeded) {
          requests++;
          expect((await t.post('/v1/events', bigRequest())).status).toBe(202);
        }
      };
      await Promise.all([client(), client(), client(), client()]);
      stopSampling();
      expect(t.checkpointer!.runs.PASSIVE).toBeGreaterThan(0);
      expect(t.checkpointer!.runs.RESTART).toBeGreaterThan(0);
      expect(restarts).toBeGreaterThan(0);
      expect(maxBytes).toBeLessThan(bound);
    } finally {
      wal.close();
      await t.stop();
    }
  });

  it('holds commits while a RESTART runs, without blocking the event loop, and commits them after it', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }] });
    // A reader keeping an old snapshot: PASSIVE cannot copy past it and the RESTART waits for it.
    const reader = openDatabase(t.telemetry.name, { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM dim_apps').get();
    try {
      // The thread notifies when a RESTART begins: fill the WAL until then.
      const restarting = t.checkpointer!.whenRestarting(true);
      const sent: Array<Promise<Response>> = [];
      for (let i = 0; i < 100 && !t.checkpointer!.restarting; i++) {
        sent.push(t.post('/v1/events', bigRequest()));
        await Promise.race([sent.at(-1), restarting]);
      }
      expect(t.checkpointer!.restarting).toBe(true);
      // Seven events: the queue's depth (whole hundreds otherwise) shows when this request is in it.
      let answered = false;
      const held = t.post('/v1/events', { events: Array.from({ length: 7 }, () => event(APP)) }).then((r) => ((answered = true), r));
      // It was read, parsed and queued while the RESTART runs (the event loop is free). The writer either
      // holds its next commit, or has one in flight in its thread that waits for the RESTART's lock (it
      // began before the RESTART did): either way this request cannot have been committed or answered.
      await t.writer.when(() => (t.writer.holding || t.writer.committing) && t.writer.depth % 100 === 7);
      expect(answered).toBe(false);

      reader.exec('COMMIT');
      await t.checkpointer!.whenRestarting(false);
      expect((await held).status).toBe(202);
      expect((await Promise.all(sent)).every((r) => r.status === 202)).toBe(true);
    } finally {
      if (reader.inTransaction) reader.exec('COMMIT');
      reader.close();
      await t.stop();
    }
  });

  it('hands checkpoints back to the writer when its thread dies', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }] });
    try {
      await t.checkpointer!.kill();
      expect(autocheckpoint(t.telemetry)).toBe(WAL_AUTOCHECKPOINT_PAGES);
      expect((await t.post('/v1/events', { events: [event(APP)] })).status).toBe(202);
    } finally {
      await t.stop();
    }
  });

  it('does not run under Litestream, which checkpoints alone', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }], env: { LITESTREAM: 'true' } });
    try {
      expect(t.checkpointer).toBeUndefined();
      expect(autocheckpoint(t.telemetry)).toBe(0);
    } finally {
      await t.stop();
    }
  });
});
