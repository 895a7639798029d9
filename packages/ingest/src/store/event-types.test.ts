import { tempDir } from '@mosis/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { event, startTestIngest, type TestIngest } from '../testing.js';

const APP = 'com.dev.app';
const OTHER = 'com.other.app';
type Body = { accepted: number; duplicates: number; rejected: Array<{ index: number; reason: string; field?: string; message?: string }> };

const send = async (t: TestIngest, events: unknown[]) => (await (await t.post('/v1/events', { events })).json()) as Body;
const typed = (app: string, type: string) => event(app, { event_type: type });
const rowsOfType = (t: TestIngest, type: string) => (t.telemetry.prepare('SELECT count(*) AS n FROM telemetry_events WHERE event_type = ?').get(type) as { n: number }).n;

describe('event types per app (MAX_EVENT_TYPES_PER_APP)', () => {
  const dirs: Array<() => void> = [];
  afterAll(() => dirs.forEach((d) => d()));

  it('accepts 1000 types, rejects an event of a 1001st alone within its batch, and keeps known types working', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }, { packageId: OTHER }] });
    try {
      expect(await send(t, Array.from({ length: 1000 }, (_, i) => typed(APP, `type_${i}`)))).toEqual({ accepted: 1000, duplicates: 0, rejected: [] });
      const body = await send(t, [typed(APP, 'type_5'), typed(APP, 'type_1000'), typed(APP, 'type_999')]);
      expect(body).toEqual({
        accepted: 2,
        duplicates: 0,
        rejected: [{ index: 1, reason: 'event_type_limit', field: 'event_type', message: expect.stringContaining('1000 event types') }],
      });
      expect(rowsOfType(t, 'type_1000')).toBe(0);
      // A refused name never gets a dimension row.
      expect(t.telemetry.prepare("SELECT count(*) AS n FROM dim_event_types WHERE name = 'type_1000'").get()).toEqual({ n: 0 });
      // Known types keep working; another app has its own 1000.
      expect(await send(t, [typed(APP, 'type_0'), typed(OTHER, 'type_1000')])).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
      const metrics = await (await t.app.request('/metrics')).text();
      expect(metrics).toMatch(/ingest_rejected_total\{kind="events",reason="event_type_limit",service="ingest"\} 1/);
    } finally {
      await t.stop();
    }
  });

  it('holds exactly when many requests bring new types in one commit, and after a restart', async () => {
    const dir = tempDir('mosis-ingest-');
    dirs.push(dir.cleanup);
    let held = true;
    const env = { MAX_EVENT_TYPES_PER_APP: '5' };
    const t = await startTestIngest({ dataDir: dir.path, apps: [{ packageId: APP }], env, hold: () => held });
    try {
      held = false;
      expect((await send(t, ['a', 'b', 'c'].map((type) => typed(APP, type)))).accepted).toBe(3);
      held = true;
      // Six requests, each a known type and a new one, all in one transaction: exactly two new types fit.
      const sends = Array.from({ length: 6 }, (_, i) => send(t, [typed(APP, 'a'), typed(APP, `new_${i}`)]));
      await t.writer.when(() => t.writer.depth === 12 && t.writer.holding);
      held = false;
      const bodies = await Promise.all(sends);
      expect(bodies.reduce((n, b) => n + b.accepted, 0)).toBe(6 + 2);
      expect(bodies.flatMap((b) => b.rejected.map((r) => [r.index, r.reason]))).toEqual(Array(4).fill([1, 'event_type_limit']));
      expect((t.telemetry.prepare('SELECT count(DISTINCT event_type) AS n FROM telemetry_events').get() as { n: number }).n).toBe(5);
    } finally {
      await t.stop();
    }

    // The registry is in telemetry.db: a restarted service knows the five types.
    const again = await startTestIngest({ dataDir: dir.path, env });
    try {
      expect(await send(again, [typed(APP, 'b'), typed(APP, 'later')])).toMatchObject({ accepted: 1, rejected: [{ index: 1, reason: 'event_type_limit' }] });
    } finally {
      await again.stop();
    }
  });
});
