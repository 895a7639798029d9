import { createHash } from 'node:crypto';
import { crashRecord, eventRecord, type RawCrashRow, type RawEventRow } from './backends.js';
import type { CrashRecord, EventRecord } from '../types.js';

/** Random but reproducible telemetry for the contract suite, and the truth computed from raw rows. */

const DAY_MS = 86_400_000;

/** mulberry32: a small seeded PRNG, so a failing seed can be rerun. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A device hash derived from a small number, so fixtures share devices on purpose. */
export function deviceOf(n: number): bigint {
  return createHash('sha256').update(`device-${n}`).digest().readBigInt64BE(0);
}

export interface Fixture {
  events: EventRecord[];
  crashes: CrashRecord[];
}

/** `n` events and `n / 20` crashes over `days` days ending at `now`, a few apps, types, versions and devices. */
export function randomTelemetry(seed: number, opts: { now: number; n: number; days: number; devices?: number }): Fixture {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const apps = ['app-a', 'app-b', 'app-c'];
  const types = ['screen_view', 'purchase', 'login', 'share', 'error'];
  const mv = [null, '2.0.0', '2.1.0'];
  const av = [null, '1.0.0', '1.1.0', '1.2.0'];
  const devices = opts.devices ?? 60;
  const start = Math.floor(opts.now / DAY_MS) * DAY_MS - (opts.days - 1) * DAY_MS;
  const ts = () => Math.min(opts.now - 1, start + Math.floor(rnd() * opts.days * DAY_MS));
  const events = Array.from({ length: opts.n }, () =>
    eventRecord({
      appId: pick(apps),
      deviceHash: deviceOf(Math.floor(rnd() * devices)),
      eventType: pick(types),
      timestamp: ts(),
      mosisVersion: pick(mv),
      appVersion: pick(av),
      eventId: rnd() < 0.1 ? null : undefined,
    }),
  ).map((e) => (e.eventId === undefined ? { ...e, eventId: eventRecord().eventId } : e));
  const crashes = Array.from({ length: Math.ceil(opts.n / 20) }, () =>
    crashRecord({
      appId: pick(apps),
      deviceHash: deviceOf(Math.floor(rnd() * devices)),
      timestamp: ts(),
      fingerprint: pick(['f1', 'f2', 'f3']).repeat(8),
      crashType: pick(['native_signal', 'exception']),
      message: pick(['SIGSEGV', 'NPE', null]),
      appVersion: pick(['1.0.0', '1.1.0']),
    }),
  );
  return { events, crashes };
}

const dateOf = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

/**
 * The aggregates as plain COUNT / COUNT DISTINCT over the raw rows would give them, in the normalized
 * form of StoreHarness.aggregates() (without sketches: compared on counts).
 */
export function truthOf(raw: { events: RawEventRow[]; crashes: RawCrashRow[] }) {
  const groups = new Map<string, { n: number; devices: Set<bigint> }>();
  const add = (key: string, device: bigint) => {
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { n: 0, devices: new Set() }));
    g.n++;
    g.devices.add(device);
  };
  for (const e of raw.events) {
    const d = dateOf(e.day);
    add(`daily|${e.app}|${d}|${e.type}`, e.device);
    add(`dims|${e.app}|${d}||`, e.device);
    add(`dims|${e.app}|${d}|mosis_version|${e.mv}`, e.device);
    add(`dims|${e.app}|${d}|app_version|${e.av}`, e.device);
  }
  const out = { daily: [] as string[], dims: [] as string[], crashDaily: [] as string[], crashDevices: [] as string[] };
  const norm = (v: string) => (v === '' ? '∅' : v);
  for (const [key, g] of groups) {
    const [table, ...parts] = key.split('|');
    const row = [...parts.map(norm), g.n, g.devices.size].join('|');
    (table === 'daily' ? out.daily : out.dims).push(row);
  }
  const crashGroups = new Map<string, RawCrashRow[]>();
  for (const c of raw.crashes) {
    const key = `${c.app}|${dateOf(c.day)}|${c.fingerprint}`;
    (crashGroups.get(key) ?? crashGroups.set(key, []).get(key)!).push(c);
  }
  for (const [key, rows] of crashGroups) {
    rows.sort((a, b) => a.order - b.order);
    const first = rows[0]!;
    const devices = new Set(rows.map((r) => r.device));
    const versions = JSON.stringify([...new Set(rows.map((r) => r.av))].sort());
    out.crashDaily.push([key, first.crashType, norm(first.message ?? ''), rows.length, devices.size, Math.min(...rows.map((r) => r.ts)), Math.max(...rows.map((r) => r.ts)), versions].join('|'));
    for (const d of devices) out.crashDevices.push(`${key}|${d}`);
  }
  for (const k of Object.keys(out) as (keyof typeof out)[]) out[k].sort();
  return out;
}

/** Aggregate rows without their sketch column (the last), for comparing with truthOf. */
export function withoutSketch(rows: string[]): string[] {
  return rows.map((r) => r.slice(0, r.lastIndexOf('|'))).sort();
}
