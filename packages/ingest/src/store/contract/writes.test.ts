import { afterAll, beforeAll, expect, it } from 'vitest';
import { crashRecord, device, eventRecord, forEachBackend, type StoreHarness } from './backends.js';
import type { WriteRequest } from '../types.js';

// The store contract, writing half: what every telemetry backend must do with a group commit. Run against
// SQLite and PostgreSQL alike (backends.ts).

const DAY_MS = 86_400_000;
const MIN_MS = 60_000;
const ev = (rows: ReturnType<typeof eventRecord>[]): WriteRequest => ({ kind: 'events', rows });
const cr = (rows: ReturnType<typeof crashRecord>[]): WriteRequest => ({ kind: 'crashes', rows });

forEachBackend('store contract: writes', (backend) => {
  let h: StoreHarness;
  beforeAll(async () => {
    h = await backend.open();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('stores each request of a group commit and answers per request, in order', async () => {
    const d = device();
    const results = await h.writer().write([
      ev([eventRecord({ appId: 'w1', deviceHash: d }), eventRecord({ appId: 'w1', deviceHash: d, eventId: null })]),
      cr([crashRecord({ appId: 'w1', deviceHash: d })]),
      ev([eventRecord({ appId: 'w2', deviceHash: d, eventType: 'purchase' })]),
    ]);
    expect(results).toEqual([
      { stored: 2, duplicates: 0 },
      { stored: 1, duplicates: 0 },
      { stored: 1, duplicates: 0 },
    ]);
    const stored = (await h.events()).filter((e) => e.app === 'w1' || e.app === 'w2');
    expect(stored.map((e) => [e.app, e.type, e.device])).toEqual(
      expect.arrayContaining([['w1', 'screen_view', d], ['w1', 'screen_view', d], ['w2', 'purchase', d]]),
    );
    expect(stored).toHaveLength(3);
    expect(await h.crashCount()).toBe(1);
  });

  it('stores a retried event and crash once, within one commit and across commits; events without an id always', async () => {
    const d = device();
    const e = eventRecord({ appId: 'r1', deviceHash: d });
    const c = crashRecord({ appId: 'r1', deviceHash: d });
    const noId = eventRecord({ appId: 'r1', deviceHash: d, eventId: null });
    expect(await h.writer().write([ev([e, e, noId]), cr([c, c])])).toEqual([
      { stored: 2, duplicates: 1 },
      { stored: 1, duplicates: 1 },
    ]);
    expect(await h.writer().write([ev([e]), ev([noId]), cr([c])])).toEqual([
      { stored: 0, duplicates: 1 },
      { stored: 1, duplicates: 0 },
      { stored: 0, duplicates: 1 },
    ]);
    // The same id from another device or app is another event.
    expect(await h.writer().write([ev([{ ...e, deviceHash: device() }, { ...e, appId: 'r2', packageId: 'com.test.r2' }])])).toEqual([{ stored: 2, duplicates: 0 }]);
    expect((await h.events()).filter((x) => x.app === 'r1')).toHaveLength(4); // e, noId twice, e from another device
  });

  it('finds a retry whose corrected timestamp moved to the neighbouring day or month, either way', async () => {
    const d = device();
    const now = Date.now();
    const midnight = Math.floor(now / DAY_MS) * DAY_MS;
    const monthStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
    const cases = [
      [midnight - 5 * MIN_MS, midnight + 5 * MIN_MS],
      [midnight + 5 * MIN_MS, midnight - 5 * MIN_MS],
      [midnight - 2 * MIN_MS, midnight - 20 * 3_600_000],
      [monthStart - 10 * MIN_MS, monthStart + 10 * MIN_MS],
      [monthStart + 10 * MIN_MS, monthStart - 10 * MIN_MS],
    ];
    for (const [first, retry] of cases) {
      const e = eventRecord({ appId: 'n1', deviceHash: d, timestamp: first! });
      expect(await h.writer().write([ev([e])])).toEqual([{ stored: 1, duplicates: 0 }]);
      expect(await h.writer().write([ev([{ ...e, timestamp: retry! }])])).toEqual([{ stored: 0, duplicates: 1 }]);
      // Both attempts in one commit: one row.
      const f = eventRecord({ appId: 'n1', deviceHash: d, timestamp: first! });
      expect(await h.writer().write([ev([f]), ev([{ ...f, timestamp: retry! }])])).toEqual([
        { stored: 1, duplicates: 0 },
        { stored: 0, duplicates: 1 },
      ]);
    }
    expect((await h.events()).filter((x) => x.app === 'n1')).toHaveLength(cases.length * 2);
    // A crash retried across the month edge.
    const c = crashRecord({ appId: 'n1', deviceHash: d, timestamp: monthStart - 30 * MIN_MS });
    expect(await h.writer().write([cr([c])])).toEqual([{ stored: 1, duplicates: 0 }]);
    expect(await h.writer().write([cr([{ ...c, timestamp: monthStart + 30 * MIN_MS }])])).toEqual([{ stored: 0, duplicates: 1 }]);
  });

  it('stores each event once when two processes retry the same requests at once, neighbour days included', async () => {
    const midnight = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const devices = Array.from({ length: 8 }, () => device());
    const rounds = 12;
    let stored = 0;
    let duplicates = 0;
    for (let round = 0; round < rounds; round++) {
      // Each device's batch straddles midnight; the other process's copy has its timestamps shifted a
      // few minutes, as a retry with a corrected sent_at has, so some of its rows fall in the other day.
      const batch = devices.map((d) =>
        Array.from({ length: 5 }, (_, i) => eventRecord({ appId: 'c1', deviceHash: d, timestamp: midnight - 3 * MIN_MS + i * MIN_MS + round })),
      );
      const shifted = batch.map((rows) => rows.map((r) => ({ ...r, timestamp: r.timestamp + 150_000 })));
      const [a, b] = await Promise.all([
        h.writer(0).write(batch.map((rows) => ev(rows))),
        // SQLite has one writer per telemetry.db: there the two copies take turns in it.
        h.writer(backend.concurrentWriters ? 1 : 0).write(shifted.map((rows) => ev(rows))),
      ]);
      for (const r of [...a, ...b]) {
        stored += r.stored;
        duplicates += r.duplicates;
      }
    }
    const rows = (await h.events()).filter((e) => e.app === 'c1');
    expect(new Set(rows.map((r) => `${r.device}:${r.id}`)).size).toBe(rows.length);
    expect(rows).toHaveLength(rounds * devices.length * 5);
    expect([stored, duplicates]).toEqual([rows.length, rows.length]);
  });

  it(`creates the partitions of the rows' months${backend.createsAhead ? ', and of this month and the next ahead of need' : ''}`, async () => {
    const now = Date.now();
    const old = now - 40 * DAY_MS;
    await h.writer().write([ev([eventRecord({ appId: 'p1', deviceHash: device(), timestamp: old })]), cr([crashRecord({ appId: 'p1', timestamp: old })])]);
    const month = (ms: number) => new Date(ms).toISOString().slice(0, 7);
    const d = new Date(now);
    const next = month(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
    for (const kind of ['events', 'crashes'] as const) {
      const months = await h.partitions(kind);
      expect(months).toEqual(expect.arrayContaining([month(old), month(now)]));
      if (backend.createsAhead) expect(months).toContain(next);
    }
  });

  it(`refuses a new event type beyond the app limit alone, exactly${backend.concurrentWriters ? ', also with two processes adding types at once' : ''}`, async () => {
    const limited = await backend.open({ maxEventTypesPerApp: 5 });
    try {
      const typed = (type: string) => eventRecord({ appId: 't1', deviceHash: device(), eventType: type });
      const res = await limited.writer().write([ev([typed('a'), typed('b'), typed('c')]), ev([typed('d'), typed('e'), typed('f'), typed('a')])]);
      expect(res).toEqual([
        { stored: 3, duplicates: 0 },
        { stored: 3, duplicates: 0, rejected: [{ row: 2, reason: 'event_type_limit', message: expect.stringContaining('5 event types') }] },
      ]);
      expect(await limited.typeCount('t1')).toBe(5);
      // Several writer processes are PostgreSQL's alone (SQLite has one ingest process per telemetry.db,
      // whose store caches each app's types).
      if (!backend.concurrentWriters) return;
      // Two processes, each bringing new types of another app at once: the limit holds across them. Both
      // have written that app before, so each starts from what it read then (one type).
      for (const p of [0, 1]) await limited.writer(p).write([ev([eventRecord({ appId: 't2', deviceHash: device(), eventType: 'a' })])]);
      const results = await Promise.all(
        [0, 1].map((p) =>
          limited.writer(p).write([ev(Array.from({ length: 4 }, (_, i) => eventRecord({ appId: 't2', deviceHash: device(), eventType: `p${p}_${i}` })))]),
        ),
      );
      const storedTypes = results.flat().reduce((n, r) => n + r.stored, 0);
      expect(storedTypes).toBe(4);
      expect(results.flat().reduce((n, r) => n + (r.rejected?.length ?? 0), 0)).toBe(4);
      expect(await limited.typeCount('t2')).toBe(5);
    } finally {
      await limited.close();
    }
  });
});

