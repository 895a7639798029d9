import { afterAll, beforeAll, expect, it } from 'vitest';
import { BACKENDS, forEachBackend, type StoreHarness } from './backends.js';
import { randomTelemetry, truthOf, withoutSketch, type Fixture } from './fixtures.js';
import { describePg } from '../postgres/testing.js';
import type { WriteRequest } from '../types.js';

// The store contract, rollup: the incremental rollup's aggregates equal plain COUNT / COUNT DISTINCT over
// the raw rows, whatever the batches and the runs in between, closed days and late events included; and
// both backends give the very same aggregates (sketch bytes too) for the same rows.

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 12);

/** Writes a fixture in batches of ~`batch` rows, with a rollup at `now` after every `every` batches. */
async function writeAndRoll(h: StoreHarness, f: Fixture, opts: { batch: number; every: number; now: number }): Promise<void> {
  const requests: WriteRequest[] = [];
  for (let i = 0; i < f.events.length; i += opts.batch) requests.push({ kind: 'events', rows: f.events.slice(i, i + opts.batch) });
  for (let i = 0; i < f.crashes.length; i += opts.batch) requests.push({ kind: 'crashes', rows: f.crashes.slice(i, i + opts.batch) });
  for (const [i, r] of requests.entries()) {
    await h.writer().write([r]);
    if (i % opts.every === opts.every - 1) await h.rollup(opts.now);
  }
  await h.rollup(opts.now);
}

async function expectExact(h: StoreHarness): Promise<void> {
  const truth = truthOf(await h.raw());
  const agg = await h.aggregates();
  expect(withoutSketch(agg.daily)).toEqual(truth.daily);
  expect(withoutSketch(agg.dims)).toEqual(truth.dims);
  expect(agg.crashDaily).toEqual(truth.crashDaily);
  expect(agg.crashDevices).toEqual(truth.crashDevices);
}

forEachBackend('store contract: rollup exactness', (backend) => {
  let h: StoreHarness;
  beforeAll(async () => {
    h = await backend.open();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('equals COUNT / COUNT DISTINCT over the raw rows, rolled up incrementally, with days closing and late events', async () => {
    for (const seed of [1, 2, 3]) {
      // Ten days of rows, rolled up every few batches: the older days close (sketches) on the way.
      await writeAndRoll(h, randomTelemetry(seed, { now: NOW, n: 1500, days: 10 }), { batch: 97, every: 3, now: NOW });
      await expectExact(h);
    }
    // A day later: yesterday closes too; late events for closed days merge into their sketches.
    const late = randomTelemetry(9, { now: NOW + DAY_MS, n: 600, days: 6 });
    await writeAndRoll(h, late, { batch: 50, every: 2, now: NOW + DAY_MS });
    await expectExact(h);
    // Every day older than today and yesterday is closed: no device rows left for them.
    const open = new Set([new Date(NOW + DAY_MS).toISOString().slice(0, 10), new Date(NOW).toISOString().slice(0, 10)]);
    const dayOf = (n: number) => new Date(n * DAY_MS).toISOString().slice(0, 10);
    const deviceDays = (await h.aggregates()).deviceDays.map((r) => dayOf(Number(r.split('|')[1])));
    expect(deviceDays.filter((d) => !open.has(d))).toEqual([]);
    // A run with nothing new changes nothing.
    const before = await h.aggregates();
    expect(await h.rollup(NOW + DAY_MS)).toMatchObject({ rows: 0 });
    expect(await h.aggregates()).toEqual(before);
  });
});

describePg('store contract: both backends give the same aggregates', () => {
  const hs: StoreHarness[] = [];
  beforeAll(async () => {
    for (const b of BACKENDS) hs.push(await b.open());
  });
  afterAll(async () => {
    for (const h of hs) await h.close();
  });

  it('for the same rows written and rolled up the same way, every aggregate row is equal, sketches included', async () => {
    const f = randomTelemetry(42, { now: NOW, n: 2500, days: 8, devices: 1500 });
    const late = randomTelemetry(43, { now: NOW + DAY_MS, n: 800, days: 5, devices: 1500 });
    for (const h of hs) {
      await writeAndRoll(h, f, { batch: 200, every: 4, now: NOW });
      await writeAndRoll(h, late, { batch: 100, every: 3, now: NOW + DAY_MS });
    }
    const [a, b] = [await hs[0]!.aggregates(), await hs[1]!.aggregates()];
    expect(b).toEqual(a);
  });
});
