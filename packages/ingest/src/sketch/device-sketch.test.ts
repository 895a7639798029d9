import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ACTIVE_DEVICES_PRECISION, BREAKDOWN_DEVICES_PRECISION, DeviceSketch, distinctDevices, EXACT_DEVICES } from './device-sketch.js';

/** Deterministic 64-bit device hashes (splitmix64), so every run checks the same sets. */
function* devices(seed: number, n: number): Generator<bigint> {
  let x = BigInt(seed) * 0x9e3779b97f4a7c15n;
  for (let i = 0; i < n; i++) {
    x = BigInt.asUintN(64, x + 0x9e3779b97f4a7c15n);
    let z = x;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    yield BigInt.asIntN(64, z ^ (z >> 31n));
  }
}

const sketchOf = (list: Iterable<bigint>, p = ACTIVE_DEVICES_PRECISION) => {
  const s = new DeviceSketch(p);
  for (const d of list) s.add(d);
  return s;
};

describe('DeviceSketch', () => {
  it('counts exactly up to EXACT_DEVICES, duplicates and signs included', () => {
    const list = [...devices(1, EXACT_DEVICES)];
    const s = sketchOf([...list, ...list.slice(0, 100), -1n, 1n, -1n]);
    expect(s.exact).toBe(false);
    const exact = sketchOf(list);
    expect(exact.exact).toBe(true);
    expect(exact.count()).toBe(EXACT_DEVICES);
    expect(sketchOf([0n, -1n, 1n, 0n, -(2n ** 63n), 2n ** 63n - 1n]).count()).toBe(5);
  });

  it.each([
    [ACTIVE_DEVICES_PRECISION, [1_001, 1_500, 3_000, 10_000, 40_000, 150_000, 600_000]],
    [BREAKDOWN_DEVICES_PRECISION, [1_001, 5_000, 50_000, 300_000]],
  ])('precision %i: estimates beyond the exact range within 2 percent', (p, sizes) => {
    for (const [i, n] of sizes.entries()) {
      for (const seed of [11, 12, 13]) {
        const estimate = sketchOf(devices(seed * 1000 + i, n), p).count();
        expect(Math.abs(estimate - n) / n, `n=${n} seed=${seed}: ${estimate}`).toBeLessThan(0.02);
      }
    }
  });

  it('merging day sketches equals one sketch of the union, exact while the union is small', () => {
    const all = [...devices(7, 30_000)];
    // Overlapping "days": a device appears on several of them.
    const days = [all.slice(0, 400), all.slice(200, 700), all.slice(650, 900)];
    expect(distinctDevices(days.map((d) => sketchOf(d)))).toBe(900);
    const bigDays = [all.slice(0, 12_000), all.slice(8_000, 25_000), all.slice(20_000, 30_000), all.slice(100, 600)];
    const merged = new DeviceSketch();
    for (const d of bigDays) merged.merge(sketchOf(d));
    const direct = sketchOf(all);
    expect(merged.toBuffer().equals(direct.toBuffer())).toBe(true);
    // Order of merging does not matter.
    const reversed = new DeviceSketch();
    for (const d of [...bigDays].reverse()) reversed.merge(sketchOf(d));
    expect(reversed.count()).toBe(merged.count());
    expect(Math.abs(merged.count() - 30_000) / 30_000).toBeLessThan(0.02);
  });

  it('round-trips through its stored form, exact and dense', () => {
    for (const n of [0, 1, 999, 1_000, 1_001, 70_000]) {
      const s = sketchOf(devices(n + 3, n));
      const back = DeviceSketch.fromBuffer(s.toBuffer());
      expect(back.exact).toBe(s.exact);
      expect(back.count()).toBe(s.count());
      expect(back.toBuffer().equals(s.toBuffer())).toBe(true);
    }
    // An exact set is stored sorted, so the same devices give the same bytes whatever the order.
    const list = [...devices(5, 50)];
    expect(sketchOf(list).toBuffer().equals(sketchOf([...list].reverse()).toBuffer())).toBe(true);
  });

  it('refuses stored forms that are not sketches', () => {
    const dense = sketchOf(devices(9, 5_000), 8).toBuffer();
    const bad: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['unknown kind', Buffer.from([9, 16])],
      ['precision out of range', Buffer.from([1, 40])],
      ['exact set not whole hashes', Buffer.from([1, 16, 1, 2, 3])],
      ['exact set too large', Buffer.concat([Buffer.from([1, 16]), Buffer.alloc(8 * (EXACT_DEVICES + 1))])],
      ['registers truncated', dense.subarray(0, dense.length - 5)],
      ['registers not deflate', Buffer.from([2, 8, 0xff, 0xff, 0xff])],
      ['rank above the maximum', Buffer.concat([Buffer.from([2, 8]), deflateRawSync(Buffer.alloc(256, 60))])],
      ['too many registers (a deflate bomb)', Buffer.concat([Buffer.from([2, 8]), deflateRawSync(Buffer.alloc(1 << 20))])],
    ];
    for (const [name, buf] of bad) expect(() => DeviceSketch.fromBuffer(buf), name).toThrow();
  });

  it('refuses to merge sketches of different precision', () => {
    expect(() => new DeviceSketch(16).merge(new DeviceSketch(14))).toThrow(/precision/);
    expect(() => new DeviceSketch(30)).toThrow(RangeError);
  });
});
