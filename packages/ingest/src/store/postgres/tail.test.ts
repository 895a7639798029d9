import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { InvalidPositionError } from '../reads.js';
import type { PgClient } from './pool.js';
import { PgRawReads } from './raw-reads.js';
import { createMigratedPgDatabase, describePg } from './testing.js';

/**
 * The live tail on PostgreSQL by settled position. Ids come from one sequence in the order they are handed
 * out, but two sessions commit in any order: a tail that followed "the largest id now" would step past a
 * row whose transaction was still open and never show it. Every inserting transaction ends within the
 * settle delay D (the writer's bound), so the tail reads only ids handed out more than D ago. The tests
 * drive the reads' clock and commit from two connections in every order; each row must come out once.
 */

const D = 1_000;
const NOW = Date.parse('2026-11-20T12:00:00Z');
const DAY = 86_400_000;

describePg('PgRawReads.tail', () => {
  let pg: Awaited<ReturnType<typeof createMigratedPgDatabase>>;
  let a: PgClient;
  let b: PgClient;
  let clock = 0;
  /** The reads wait on their clock (a fresh reader waits D once): here that moves the clock, nothing sleeps. */
  const wait = async (ms: number) => {
    clock += ms;
  };
  let reads: PgRawReads;

  beforeAll(async () => {
    pg = await createMigratedPgDatabase();
    const day = Math.floor(NOW / DAY);
    await pg.pool.query(`CREATE TABLE telemetry_events_2026_11 PARTITION OF telemetry_events FOR VALUES FROM (${day - 19}) TO (${day + 11})`);
    await pg.pool.query("INSERT INTO dim_apps (app_id, package_id) VALUES ('app-a', 'com.a'), ('app-b', 'com.b')");
    await pg.pool.query("INSERT INTO dim_event_types (name) VALUES ('open')");
    [a, b] = [await pg.pool.connect(), await pg.pool.connect()];
  });
  afterAll(async () => {
    a?.release();
    b?.release();
    await pg?.close();
  });
  beforeEach(async () => {
    await pg.pool.query('TRUNCATE telemetry_events, position_samples');
    clock = 0;
    reads = new PgRawReads(pg.pool, { retentionDays: 90, now: () => NOW, settleDelayMs: D, clock: () => clock, wait });
  });

  /** Inserts one event of `app` on connection `c` (inside its open transaction, if any); answers its event_id. */
  async function insert(c: PgClient, app = 'app-a'): Promise<string> {
    const id = randomUUID();
    await c.query(
      `INSERT INTO telemetry_events (app_id, day, device_id, event_type, timestamp, event_id, received_at)
       SELECT (SELECT id FROM dim_apps WHERE app_id = $1), $2, 7, 1, $3, $4, $5`,
      [app, Math.floor(NOW / DAY), NOW, id, Date.now()],
    );
    return id;
  }

  const firstId = async () => (await pg.pool.query<{ id: bigint }>('SELECT min(id) AS id FROM telemetry_events')).rows[0]!.id;

  /** Follows the tail from `head` until it has nothing more (no rows, head unmoved); answers the event ids in order and the new head. */
  async function drain(head: string, limit: number): Promise<{ ids: string[]; head: string }> {
    const ids: string[] = [];
    for (;;) {
      const page = await reads.tail({ appId: 'app-a', after: head, limit });
      ids.push(...page.items.map((e) => e.event_id!));
      const moved = page.head !== head;
      head = page.head;
      if (page.items.length === 0 && !moved) return { ids, head };
    }
  }

  it('shows a row committed after a later id once it has settled, and nothing before D has passed', async () => {
    let { head } = await reads.events({ appId: 'app-a', fromMs: 0, toMs: NOW, limit: 1 });
    await a.query('BEGIN');
    const first = await insert(a); // the smaller id, committed last
    const second = await insert(b);
    // The largest id (second's) is committed: a tail following it would now step past `first` for good.
    ({ head } = await drain(head, 10));
    clock += D / 2;
    expect((await drain(head, 10)).ids).toEqual([]);
    await a.query('COMMIT');
    clock += 2 * D;
    const got = await drain(head, 10);
    expect(got.ids).toEqual([first, second]);
    clock += 10 * D;
    expect((await drain(got.head, 10)).ids).toEqual([]);
  });

  it('hands out every row of the app exactly once while two sessions commit out of order', async () => {
    let { head } = await reads.events({ appId: 'app-a', fromMs: 0, toMs: NOW, limit: 1 });
    const committed: string[] = [];
    const seen: string[] = [];
    const poll = async () => {
      const got = await drain(head, 2);
      seen.push(...got.ids);
      head = got.head;
    };
    for (let round = 0; round < 40; round++) {
      await a.query('BEGIN');
      await b.query('BEGIN');
      // Interleaved: each session takes ids before and after the other's, another app's rows in between.
      const mine = [await insert(a), await insert(b), await insert(b, 'app-b'), await insert(a), await insert(b)];
      await poll();
      const [early, late] = round % 2 ? [a, b] : [b, a];
      await early.query('COMMIT');
      await poll();
      clock += D / 3;
      await poll();
      await late.query('COMMIT');
      await poll();
      committed.push(...mine.filter((_, i) => i !== 2));
      // Both ended within D of taking their ids, as the writer's statement timeout guarantees.
      clock += D / 3;
    }
    clock += 2 * D;
    await poll();
    expect(seen.length).toBe(committed.length);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...committed].sort());
  });

  it('takes maintenance samples (position_samples) so a reader just started need not wait D', async () => {
    const ids = [await insert(a), await insert(a), await insert(a)];
    // Maintenance sampled the sequence after the second row, 10 s ago by the server's clock.
    await pg.pool.query(
      "INSERT INTO position_samples (kind, taken_at, last_id) SELECT 'events', now() - interval '10 seconds', min(id) + 1 FROM telemetry_events",
    );
    // Found at once: the reader does not wait (its wait would fail the test), and goes up to that sample only.
    reads = new PgRawReads(pg.pool, { retentionDays: 90, now: () => NOW, settleDelayMs: D, clock: () => clock, wait: () => Promise.reject(new Error('waited')) });
    const head = Buffer.from(JSON.stringify({ id: Number(await firstId()) - 1 })).toString('base64url');
    const got = await drain(head, 10);
    expect(got.ids).toEqual(ids.slice(0, 2));
  });

  it('examines at most tailScanRows ids per request, whatever app they belong to, and catches up over polls', async () => {
    reads = new PgRawReads(pg.pool, { retentionDays: 90, now: () => NOW, settleDelayMs: D, clock: () => clock, wait, tailScanRows: 4 });
    const head = (await reads.events({ appId: 'app-a', fromMs: 0, toMs: NOW, limit: 1 })).head;
    const mine: string[] = [];
    for (let i = 0; i < 10; i++) await insert(a, 'app-b');
    for (let i = 0; i < 3; i++) mine.push(await insert(a));
    clock += D;
    await reads.tail({ appId: 'app-a', after: head, limit: 10 }); // samples the sequence
    clock += 2 * D;
    const pages = [];
    let after = head;
    for (let i = 0; i < 6; i++) {
      const page = await reads.tail({ appId: 'app-a', after, limit: 10 });
      pages.push(page.items.length);
      after = page.head;
    }
    // 13 ids, 4 a request: the first two requests see only app-b's ids, the next two app-a's three.
    expect(pages).toEqual([0, 0, 2, 1, 0, 0]);
    expect((await drain(head, 10)).ids).toEqual(mine);
  });

  it('refuses a head it did not give out, a SQLite one included', async () => {
    const heads = ['', '!', Buffer.from('{"2026-11":1}').toString('base64url'), Buffer.from('{"id":-1}').toString('base64url'), Buffer.from('{"id":1.5}').toString('base64url'), Buffer.from('{"id":1,"x":2}').toString('base64url'), Buffer.from('[1]').toString('base64url'), 'A'.repeat(100)];
    for (const after of heads) await expect(reads.tail({ appId: 'app-a', after, limit: 10 }), after).rejects.toBeInstanceOf(InvalidPositionError);
  });
});
