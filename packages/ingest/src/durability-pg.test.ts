import { databasePath, tempDir, type ChildHandle } from '@mosis/shared';
import { existsSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { PgAppRegistryPublisher } from './store/postgres/app-registry.js';
import { openPgPool } from './store/postgres/pool.js';
import { createTestPgDatabase, describePg, type TestPgDatabase } from './store/postgres/testing.js';
import { event, spawnIngest } from './testing.js';

// The built ingest service (dist/main.js) as two real processes on one PostgreSQL database, as a scaled-out
// deployment runs it: one is SIGKILLed under load, devices retry against the other and the restarted one.
// Neither has a portal.db: they learn the app from the registry in PostgreSQL, as the core API publishes it.

const APP = 'com.dev.app';
const WORKERS = 8;
const BATCH = 25;
const UNSENT_BATCHES = 40;
const DAY_MS = 86_400_000;
/** Both processes hash device ids with one key (generated per DATA_DIR otherwise). */
const SECRET = 'durability-pg-test-secret-0123456789abcdef';

type Ingest = ChildHandle & { url: string };
type Batch = Record<string, unknown>[];

describePg('ingest on PostgreSQL, two processes', () => {
  const dir = tempDir('mosis-durability-pg-');
  const dbs: TestPgDatabase[] = [];
  const children: Ingest[] = [];
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    for (const db of dbs) await db.drop();
    dir.cleanup();
  });

  const database = async () => {
    const db = await createTestPgDatabase();
    dbs.push(db);
    return db;
  };
  /** What the core API does when the app is created: the processes (which migrated the database) find it at once. */
  const publishApp = async (db: TestPgDatabase) => {
    const pool = openPgPool(db.url, { applicationName: 'mosis-test' });
    try {
      await new PgAppRegistryPublisher(pool).publish([{ id: 'app-1', packageId: APP, status: 'published' }]);
    } finally {
      await pool.end();
    }
  };
  const start = async (db: TestPgDatabase) => {
    const c = await spawnIngest(dir.path, { TELEMETRY_DATABASE_URL: db.url, DEVICE_HASH_SECRET: SECRET });
    children.push(c);
    return c;
  };
  const post = (to: Ingest, events: Batch, sentAt?: number) =>
    fetch(`${to.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...(sentAt !== undefined && { sent_at: new Date(sentAt).toISOString() }), events }),
    });
  /** How often each event id is stored. */
  const stored = async (db: TestPgDatabase) => {
    const pool = openPgPool(db.url, { applicationName: 'mosis-test' });
    try {
      const rows = await pool.query<{ id: string; n: number }>('SELECT event_id::text AS id, count(*)::int AS n FROM telemetry_events GROUP BY event_id');
      return new Map(rows.rows.map((r) => [r.id, r.n]));
    } finally {
      await pool.end();
    }
  };

  /** Resolves `until(test)` promises once `test` holds, re-checked after every answer the load gets. */
  const progress = () => {
    let waiters: Array<{ test: () => boolean; resolve: () => void }> = [];
    return {
      tick() {
        const w = waiters;
        waiters = [];
        for (const x of w) (x.test() ? x.resolve() : waiters.push(x));
      },
      until(test: () => boolean) {
        return test() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ test, resolve }));
      },
    };
  };

  it('after one process is SIGKILLed under concurrent load, every event either acknowledged is stored exactly once', async () => {
    const db = await database();
    // Started at once: both migrate the new database, the migration lock makes one wait for the other.
    const [a, b] = await Promise.all([start(db), start(db)]);
    await publishApp(db);
    const sent = new Set<string>();
    const acked = new Set<string>();
    const acks = new Map<Ingest, number>([[a, 0], [b, 0]]);
    const p = progress();
    let killed = false;
    let done = false;

    const worker = async (w: number) => {
      const to = w % 2 === 0 ? a : b;
      while (!done && !(to === a && killed)) {
        const events = Array.from({ length: BATCH }, () => event(APP, { device_id: `device-${w}` }));
        for (const e of events) sent.add(e.event_id as string);
        try {
          const res = await post(to, events);
          const body = (await res.json()) as { accepted: number };
          if (res.status === 202) {
            expect(body.accepted).toBe(BATCH);
            for (const e of events) acked.add(e.event_id as string);
            acks.set(to, acks.get(to)! + 1);
          }
        } catch {
          // The connection died with A: the outcome is unknown (the retry test covers what devices then do).
        }
        p.tick();
      }
    };
    const load = Array.from({ length: WORKERS }, (_, w) => worker(w));
    await p.until(() => acks.get(a)! >= 20 && acks.get(b)! >= 20);
    a.child.kill('SIGKILL');
    killed = true;
    expect((await a.exited).signal).toBe('SIGKILL');
    // B goes on serving while A is gone.
    const byB = acks.get(b)!;
    await p.until(() => acks.get(b)! >= byB + 20);
    done = true;
    await Promise.all(load);

    // SIGTERM drains what B has queued into PostgreSQL and closes its pool.
    b.child.kill('SIGTERM');
    expect((await b.exited).code, b.output()).toBe(0);

    const have = await stored(db);
    expect([...acked].filter((id) => have.get(id) !== 1)).toEqual([]);
    expect([...have].filter(([, n]) => n !== 1)).toEqual([]);
    expect([...have.keys()].filter((id) => !sent.has(id))).toEqual([]);
    // Telemetry lives in PostgreSQL only.
    expect(existsSync(databasePath(dir.path, 'telemetry'))).toBe(false);
  });

  it('retries of acknowledged and lost batches, sent at once to the other process and to the restarted one, store each event once', async () => {
    const db = await database();
    const [first, b] = await Promise.all([start(db), start(db)]);
    await publishApp(db);
    let a = first;
    // Events just before the last midnight: a retry whose sent_at says the device clock was 2 min behind
    // moves them into the next day, a different idempotency key (the neighbour-day check must catch it).
    const midnight = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    let next = 0;
    const batchOf = (n: number): Batch =>
      Array.from({ length: BATCH }, (_, i) => event(APP, { device_id: `device-${n % 4}`, timestamp: new Date(midnight - 60_000 + i * 1_000).toISOString() }));
    const batches: Array<{ events: Batch; acked: boolean }> = [];
    const p = progress();
    let ackedByA = 0;
    let killed = false;

    const worker = async () => {
      while (!killed) {
        const events = batchOf(next++);
        const o = { events, acked: false };
        batches.push(o);
        try {
          const res = await post(a, events);
          if (res.status === 202) {
            o.acked = true;
            ackedByA++;
          }
        } catch {
          // Lost with A.
        }
        p.tick();
      }
    };
    const load = Array.from({ length: WORKERS }, () => worker());
    await p.until(() => ackedByA >= 10);
    a.child.kill('SIGKILL');
    killed = true;
    await a.exited;
    await Promise.all(load);
    expect(batches.some((o) => !o.acked)).toBe(true);
    // And batches lost before any server read them (the device's connection dropped on the way): their
    // retries to the two processes race for rows not stored yet.
    for (let i = 0; i < UNSENT_BATCHES; i++) batches.push({ events: batchOf(next++), acked: false });

    // A restarts; every batch, acknowledged or not, is retried at once against B (clock-corrected into the
    // next day) and against the restarted A (as first sent).
    a = await start(db);
    const retries = await Promise.all(
      batches.flatMap((o) => [
        post(b, o.events, Date.now() - 120_000).then(async (res) => ({ status: res.status, body: (await res.json()) as { accepted: number; duplicates: number } })),
        post(a, o.events).then(async (res) => ({ status: res.status, body: (await res.json()) as { accepted: number; duplicates: number } })),
      ]),
    );
    for (const r of retries) {
      expect(r.status).toBe(202);
      expect(r.body.accepted + r.body.duplicates).toBe(BATCH);
    }

    for (const c of [a, b]) {
      c.child.kill('SIGTERM');
      expect((await c.exited).code, c.output()).toBe(0);
    }
    const have = await stored(db);
    const ids = batches.flatMap((o) => o.events.map((e) => e.event_id as string));
    expect(ids.filter((id) => have.get(id) !== 1)).toEqual([]);
    expect(have.size).toBe(ids.length);
    expect([...have].filter(([, n]) => n !== 1)).toEqual([]);
  });
});
