import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * Distinct devices as a mergeable sketch: the exact set of device hashes while it holds at most
 * EXACT_DEVICES of them, a HyperLogLog beyond. The rollup keeps one per (app, day) and per (app, day,
 * dimension value); a query over any range merges the days' sketches, so "devices this month" counts a
 * device once, not once per day.
 *
 * Device ids are already 64-bit keyed hashes (HMAC-SHA256), uniformly distributed, so they index the
 * registers directly. The estimate is Ertl's improved raw estimator ("New cardinality estimation
 * algorithms for HyperLogLog sketches", 2017, algorithm 6): unbiased from one device to billions without
 * empirical bias tables or a switch to linear counting.
 */

/** Sets of at most this many devices are kept exactly (API.md: "Exact up to 1,000 devices"). */
export const EXACT_DEVICES = 1_000;
/** Registers 2^16 (64 KiB): standard error 1.04/√65536 = 0.41%, so 2% is 4.9 standard errors. */
export const ACTIVE_DEVICES_PRECISION = 16;
/** Registers 2^14 (16 KiB) for breakdown values, which are many per day: standard error 0.81%. */
export const BREAKDOWN_DEVICES_PRECISION = 14;

const MIN_PRECISION = 4;
const MAX_PRECISION = 18;
const KIND_EXACT = 1;
const KIND_DENSE = 2;
const HEADER_BYTES = 2;
const ALPHA_INF = 1 / (2 * Math.LN2);

export class DeviceSketch {
  /** The exact set, while the sketch is exact. */
  private set: Set<bigint> | undefined = new Set();
  /** HyperLogLog registers once it is not. */
  private registers: Uint8Array | undefined;

  constructor(readonly precision: number = ACTIVE_DEVICES_PRECISION) {
    if (!Number.isInteger(precision) || precision < MIN_PRECISION || precision > MAX_PRECISION) {
      throw new RangeError(`sketch precision must be ${MIN_PRECISION}..${MAX_PRECISION}, got ${precision}`);
    }
  }

  /** True while the count is exact. */
  get exact(): boolean {
    return this.set !== undefined;
  }

  /** Adds one device (its signed 64-bit hash). */
  add(device: bigint): this {
    if (this.set) {
      this.set.add(BigInt.asIntN(64, device));
      if (this.set.size > EXACT_DEVICES) this.toDense();
    } else {
      this.update(device);
    }
    return this;
  }

  /** Adds every device of `other` (of the same precision). */
  merge(other: DeviceSketch): this {
    if (other.precision !== this.precision) throw new RangeError(`cannot merge sketches of precision ${other.precision} into ${this.precision}`);
    if (other.set) {
      for (const d of other.set) this.add(d);
      return this;
    }
    if (this.set) this.toDense();
    const mine = this.registers!;
    const theirs = other.registers!;
    for (let i = 0; i < mine.length; i++) if (theirs[i]! > mine[i]!) mine[i] = theirs[i]!;
    return this;
  }

  /** Distinct devices: exact while `exact`, else the HyperLogLog estimate, rounded. */
  count(): number {
    if (this.set) return this.set.size;
    return Math.round(estimate(this.registers!, this.precision));
  }

  /** The stored form: 2 header bytes, then the sorted hashes (exact) or the deflated registers. */
  toBuffer(): Buffer {
    if (this.set) {
      const out = Buffer.allocUnsafe(HEADER_BYTES + 8 * this.set.size);
      out[0] = KIND_EXACT;
      out[1] = this.precision;
      let o = HEADER_BYTES;
      for (const d of [...this.set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) o = out.writeBigInt64BE(d, o);
      return out;
    }
    return Buffer.concat([Buffer.from([KIND_DENSE, this.precision]), deflateRawSync(this.registers!)]);
  }

  /** Reads a stored sketch back; throws on anything that is not one. */
  static fromBuffer(buf: Uint8Array): DeviceSketch {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (b.length < HEADER_BYTES) throw new Error('device sketch: too short');
    const sketch = new DeviceSketch(b[1]!);
    if (b[0] === KIND_EXACT) {
      if ((b.length - HEADER_BYTES) % 8 !== 0 || (b.length - HEADER_BYTES) / 8 > EXACT_DEVICES) throw new Error('device sketch: bad exact set');
      for (let o = HEADER_BYTES; o < b.length; o += 8) sketch.set!.add(b.readBigInt64BE(o));
      return sketch;
    }
    if (b[0] !== KIND_DENSE) throw new Error(`device sketch: unknown kind ${b[0]}`);
    const m = 1 << sketch.precision;
    let registers: Buffer;
    try {
      registers = inflateRawSync(b.subarray(HEADER_BYTES), { maxOutputLength: m });
    } catch (err) {
      throw new Error('device sketch: registers do not inflate', { cause: err });
    }
    const maxRank = 64 - sketch.precision + 1;
    if (registers.length !== m || registers.some((r) => r > maxRank)) throw new Error('device sketch: bad registers');
    sketch.set = undefined;
    sketch.registers = new Uint8Array(registers);
    return sketch;
  }

  private toDense(): void {
    const devices = this.set!;
    this.set = undefined;
    this.registers = new Uint8Array(1 << this.precision);
    for (const d of devices) this.update(d);
  }

  /** Register of a hash: its top `precision` bits; rank: leading zeros of the other bits, plus one. */
  private update(device: bigint): void {
    const u = BigInt.asUintN(64, device);
    const hi = Number(u >> 32n);
    const lo = Number(u & 0xffff_ffffn);
    const p = this.precision;
    const index = hi >>> (32 - p);
    const rest = (hi << p) >>> 0;
    const rank = rest !== 0 ? Math.clz32(rest) + 1 : 32 - p + (lo !== 0 ? Math.clz32(lo) : 32) + 1;
    const r = this.registers!;
    if (rank > r[index]!) r[index] = rank;
  }
}

/** Distinct devices over several sketches of one precision (a range of days), without changing them. */
export function distinctDevices(sketches: Iterable<DeviceSketch>, precision: number = ACTIVE_DEVICES_PRECISION): number {
  const union = new DeviceSketch(precision);
  for (const s of sketches) union.merge(s);
  return union.count();
}

/** Ertl's improved raw estimator over registers holding ranks 0..q+1 (q = 64 - precision). */
function estimate(registers: Uint8Array, precision: number): number {
  const m = registers.length;
  const q = 64 - precision;
  const histogram = new Float64Array(q + 2);
  for (let i = 0; i < m; i++) histogram[registers[i]!]!++;
  let z = m * tau(1 - histogram[q + 1]! / m);
  for (let k = q; k >= 1; k--) z = 0.5 * (z + histogram[k]!);
  z += m * sigma(histogram[0]! / m);
  return (ALPHA_INF * m * m) / z;
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const next = z + x * y;
    y += y;
    if (next === z) return z;
    z = next;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    y *= 0.5;
    const next = z - (1 - x) ** 2 * y;
    if (next === z) return z / 3;
    z = next;
  }
}
