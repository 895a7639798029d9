import { databasePath, tempDir, type ChildHandle } from '@mosis/shared';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { event, seedPortal, spawnIngest } from '../../testing.js';
import { openSqliteTelemetryReads, type SqliteTelemetryReads } from './reads.js';

/**
 * The live tail against the real, built ingest service in its own process: while devices' batches are
 * committed (late timestamps into older months' partitions, partitions appearing on the way, another app's
 * events and retries in between), a poller following `head` sees every stored event of its app exactly once.
 * A small scan budget makes polls stop part-way through what was stored, with several partitions' rows to merge.
 */

const SECRET = 'tail-test-secret-0123456789abcdef0123';
const DAY = 86_400_000;
const A = 'com.tail.a';
const B = 'com.tail.b';
/** Writers x batches x events: ~1,800 events, half of them app A's. */
const WRITERS = 4;
const BATCHES = 15;
const BATCH_EVENTS = 30;
const DEADLINE_MS = 45_000;
/** Events per poll, and row ids a poll may scan: room for several partitions' rows per poll, to be merged. */
const LIMIT = 10;
const SCAN_ROWS = 60;

const dir = tempDir();
let svc: ChildHandle & { url: string };
let reads: SqliteTelemetryReads;

beforeAll(async () => {
  (await seedPortal(dir.path, [{ packageId: A, id: 'app-a' }, { packageId: B, id: 'app-b' }])).close();
  svc = await spawnIngest(dir.path, { DEVICE_HASH_SECRET: SECRET, INGEST_FLUSH_INTERVAL_MS: '1', ROLLUP_SCHEDULE: '0 0 1 1 *', PRUNE_SCHEDULE: '0 0 1 1 *' });
  reads = openSqliteTelemetryReads({ path: databasePath(dir.path, 'telemetry'), deviceSecret: SECRET, retentionDays: 90, tailScanRows: SCAN_ROWS });
});
afterAll(async () => {
  svc?.child.kill('SIGTERM');
  await svc?.exited;
  await reads?.close();
  dir.cleanup();
});

async function post(events: Array<Record<string, unknown>>): Promise<{ accepted: number; duplicates: number; rejected: unknown[] }> {
  for (;;) {
    const res = await fetch(`${svc.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
    if (res.status === 202) return (await res.json()) as { accepted: number; duplicates: number; rejected: unknown[] };
    // A full queue refuses the whole request (nothing stored): send it again.
    if (res.status !== 503) throw new Error(`POST /v1/events: ${res.status} ${await res.text()}`);
  }
}

const months = (head: string) => Object.keys(JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as object).sort();

describe('tail', () => {
  it('hands out every stored event of the app exactly once while batches commit, late timestamps and new partitions included', async () => {
    const now = Date.now();
    const ageOf = (i: number) => [0, 0, 0, 40 * DAY, 80 * DAY][i % 5]!;
    // One event of A now, so the head names the current month only; 40 and 80 days back are other months.
    const first = event(A, { timestamp: new Date(now).toISOString() });
    expect((await post([first])).accepted).toBe(1);
    let { head } = await reads.events({ appId: 'app-a', fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, limit: 1 });
    expect(months(head)).toHaveLength(1);

    const acked = new Set<string>();
    let writing = true;
    const writers = Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let b = 0; b < BATCHES; b++) {
          const events = Array.from({ length: BATCH_EVENTS }, (_, i) =>
            event(i % 2 ? B : A, { event_id: randomUUID(), device_id: `device-${w}-${i % 7}`, timestamp: new Date(now - ageOf(b + i) - i * 1_000).toISOString() }),
          );
          const res = await post(events);
          expect(res.rejected).toEqual([]);
          for (const e of events) if (e.app === A) acked.add(e.event_id as string);
          // A retry of a batch already stored: its events must not be handed out again.
          if (b % 4 === 3) expect((await post(events)).duplicates).toBe(BATCH_EVENTS);
        }
      }),
    ).finally(() => (writing = false));

    const seen = new Map<string, number>();
    let polls = 0;
    let partial = 0;
    const deadline = Date.now() + DEADLINE_MS;
    while (writing || [...acked].some((id) => !seen.has(id))) {
      if (Date.now() > deadline) throw new Error(`tail: ${acked.size - [...acked].filter((id) => seen.has(id)).length} acknowledged events never seen after ${polls} polls`);
      const page = await reads.tail({ appId: 'app-a', after: head, limit: LIMIT });
      polls++;
      if (page.items.length > 0 && page.items.length < LIMIT) partial++;
      for (let i = 1; i < page.items.length; i++) expect(page.items[i]!.received_at!).toBeGreaterThanOrEqual(page.items[i - 1]!.received_at!);
      for (const e of page.items) seen.set(e.event_id!, (seen.get(e.event_id!) ?? 0) + 1);
      head = page.head;
      // Caught up for now: give the writers' requests the event loop before the next poll.
      if (page.items.length === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await writers;
    // Nothing more comes, however often one asks.
    for (let i = 0; i < 20; i++) {
      const page = await reads.tail({ appId: 'app-a', after: head, limit: LIMIT });
      expect(page.items).toEqual([]);
      head = page.head;
    }

    expect([...seen.values()].filter((n) => n !== 1)).toEqual([]);
    expect([...seen.keys()].sort()).toEqual([...acked].sort());
    expect(acked.size).toBe((WRITERS * BATCHES * BATCH_EVENTS) / 2);
    // The months 40 and 80 days back appeared during the test, and the budget cut polls short.
    expect(months(head)).toHaveLength(3);
    expect(partial).toBeGreaterThan(0);
    expect(polls).toBeGreaterThan(acked.size / LIMIT);
  });

  it('refuses a head it did not give out', async () => {
    for (const after of ['', '!', Buffer.from('[1,2]').toString('base64url'), Buffer.from('{"2026-13":1}').toString('base64url'), Buffer.from('{"2026-11":-1}').toString('base64url'), Buffer.from('{"2026-11":1.5}').toString('base64url'), Buffer.from(JSON.stringify(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`${2000 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`, 1])))).toString('base64url')]) {
      await expect(reads.tail({ appId: 'app-a', after, limit: 10 }), after).rejects.toMatchObject({ name: 'InvalidPositionError' });
    }
  });
});
