import { openPgTelemetryReads, type PgPool, type TelemetryReads } from '@mosis/ingest';
import { createMigratedPgDatabase, describePg } from '@mosis/ingest/testing-pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_DEVICE_SECRET, type TestApp } from '../test-app.js';
import { startTestTelemetry, type TestTelemetry } from '../test-telemetry.js';

/**
 * GET /v1/apps/{id}/events through the real core API over events stored by real ingest: on telemetry.db,
 * and with the core API reading a telemetry PostgreSQL holding the same rows. There the tail shows rows
 * once the settle delay has passed: the reads' clock is the test's, moved past it after each write.
 */

let t: TestApp;
let tel: TestTelemetry | undefined;
let token: string;
let app: { id: string; package_id: string };
let sibling: { id: string; package_id: string };
/** Lets what was just stored settle (PostgreSQL's tail); nothing on SQLite. */
let settle: () => Promise<void> = async () => {};
let pgPool: PgPool | undefined;
const startTelemetry = () => startTestTelemetry(t, pgPool ? { pg: pgPool } : {});

function suite(backend: 'sqlite' | 'postgres') {
  let pg: Awaited<ReturnType<typeof createMigratedPgDatabase>> | undefined;
  let reads: TelemetryReads | undefined;
  beforeAll(async () => {
    if (backend === 'postgres') {
      const D = 3_000;
      let clock = 0;
      pg = await createMigratedPgDatabase();
      pgPool = pg.pool;
      reads = openPgTelemetryReads({ url: pg.url, deviceSecret: TEST_DEVICE_SECRET, retentionDays: 90, settleDelayMs: D, clock: () => clock, wait: async (ms) => void (clock += ms) });
      // As a poller's requests do: the reads sample the id sequence when asked (here, right after the
      // write); a sample settles once D has passed on their clock.
      settle = async () => {
        await get(`after=${Buffer.from('{"id":0}').toString('base64url')}&limit=1`);
        clock += 2 * D;
      };
    }
    t = await createTestApp(reads ? { telemetry: reads } : {});
    token = (await t.signup()).token;
    app = await t.newApp(token);
    sibling = await t.newApp(token);
  });
  afterAll(async () => {
    await tel?.close();
    tel = undefined;
    t.close();
    await reads?.close();
    await pg?.close();
    pgPool = undefined;
    settle = async () => {};
  });

  const get = (query: string) => t.call('GET', `/v1/apps/${app.id}/events?${query}`, { token });
  const ids = (res: { body: { items: Array<{ event_id: string }> } }) => res.body.items.map((e) => e.event_id);
  const uuid = (n: number) => `0193f1c2-6c1e-7a53-9d1e-${String(n).padStart(12, '0')}`;
  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

  describe('GET /v1/apps/{id}/events', () => {
    let head: string;

    it('before ingest ever ran: no events, and a head from which a tail later finds everything stored', async () => {
      const res = await get('');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [], next_cursor: null, head: expect.any(String) });
      head = res.body.head;

      tel = await startTelemetry();
      await tel.events([
        { event_id: uuid(1), app: app.package_id, device_id: 'phone-1', event_type: 'app_open', timestamp: minutesAgo(30), mosis_version: '1.4.2', app_version: '2.0.0-rc.1+45', data: { screen: 'home' } },
        { event_id: uuid(2), app: app.package_id, device_id: 'phone-2', event_type: 'click', timestamp: minutesAgo(20) },
        { event_id: uuid(3), app: sibling.package_id, device_id: 'phone-1', event_type: 'app_open', timestamp: minutesAgo(10) },
        { event_id: uuid(4), app: app.package_id, device_id: 'phone-1', event_type: 'click', timestamp: minutesAgo(5) },
      ]);
      await settle();
      const tail = await get(`after=${head}`);
      expect(tail.status).toBe(200);
      expect(ids(tail)).toEqual([uuid(1), uuid(2), uuid(4)]);
      head = tail.body.head;
      expect((await get(`after=${head}`)).body).toEqual({ items: [], head });
    });

    it('lists newest first with every field, device as the stored hash, times as RFC 3339', async () => {
      const res = await get('');
      expect(ids(res)).toEqual([uuid(4), uuid(2), uuid(1)]);
      const oldest = res.body.items[2];
      expect(oldest).toEqual({
        event_id: uuid(1),
        event_type: 'app_open',
        timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        received_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        device: expect.stringMatching(/^[0-9a-f]{16}$/),
        mosis_version: '1.4.2',
        app_version: '2.0.0-rc.1+45',
        data: { screen: 'home' },
      });
      expect(res.body.items[0].device).toBe(oldest.device);
      expect(res.body.items[1].device).not.toBe(oldest.device);
      expect(JSON.stringify(res.body)).not.toContain('phone-1');
    });

    it('pages with next_cursor, and filters by raw device id (hashed by the server), type and time', async () => {
      const first = await get('limit=2');
      expect(ids(first)).toEqual([uuid(4), uuid(2)]);
      const second = await get(`limit=2&cursor=${first.body.next_cursor}`);
      expect(ids(second)).toEqual([uuid(1)]);
      expect(second.body.next_cursor).toBeNull();
      expect(ids(await get('device_id=phone-1'))).toEqual([uuid(4), uuid(1)]);
      expect(ids(await get('device_id=phone-9'))).toEqual([]);
      expect(ids(await get('event_type=click&device_id=phone-1'))).toEqual([uuid(4)]);
      const at = (await get('')).body.items[1].timestamp;
      expect(ids(await get(`from=${at}&to=${at}`))).toEqual([uuid(2)]);
    });

    it('tails what is stored after a head, late timestamps included, oldest stored first', async () => {
      await tel!.events([
        { event_id: uuid(5), app: app.package_id, device_id: 'phone-3', event_type: 'late', timestamp: new Date(Date.now() - 40 * 86_400_000).toISOString() },
        { event_id: uuid(6), app: app.package_id, device_id: 'phone-3', event_type: 'now', timestamp: minutesAgo(0) },
      ]);
      await tel!.events([{ event_id: uuid(7), app: app.package_id, device_id: 'phone-3', event_type: 'now', timestamp: minutesAgo(0) }]);
      await settle();
      const one = await get(`after=${head}&limit=2`);
      expect(ids(one)).toHaveLength(2);
      const two = await get(`after=${one.body.head}&limit=2`);
      expect([...ids(one), ...ids(two)].sort()).toEqual([uuid(5), uuid(6), uuid(7)]);
      expect(ids(two)).toContain(uuid(7));
      expect((await get(`after=${two.body.head}`)).body.items).toEqual([]);
    });
  });
}

describe('raw events over telemetry.db', () => suite('sqlite'));
describePg('raw events over a telemetry PostgreSQL', () => suite('postgres'));
