import { openDatabase, tempDir, type DB } from '@mosis/shared';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prune } from './retention.js';
import { rebuildRange } from './rollup-rebuild.js';
import { rollup } from './rollup.js';
import { createInlineReader, type SnapshotReader } from './snapshot-reader.js';
import { insertCrashes, insertEvents, openMigratedTelemetry, type RawCrash, type RawEvent } from './testing.js';
import { EXACT_DEVICES } from '../../sketch/device-sketch.js';
import { dropPartition } from './partitions.js';
import type { BreakdownBy, DeviceInterval } from '../reads.js';
import { PgAggregateReads } from '../postgres/aggregate-reads.js';
import { copyFromSqlite } from '../postgres/copy-from-sqlite.js';
import { createMigratedPgDatabase, pgAvailable } from '../postgres/testing.js';
import { SqliteAggregateReads } from './aggregate-reads.js';
import { type AggregateReads } from '../reads.js';

/**
 * Every number of every aggregate read equals a plain COUNT(*) / COUNT(DISTINCT device) over the rows
 * that were stored (exact up to 1,000 devices, within 2% beyond), whatever happened in between: batches
 * across day, ISO-week, month and retention edges, the clock moving days past the open/closed boundary,
 * late events into closed days, incremental runs interleaved with inserts, prunes and rebuilds. The truth
 * is computed here in plain JavaScript from what the test inserted, not by the code under test.
 *
 * When the run has a PostgreSQL server, each scenario's telemetry.db is also copied into a telemetry
 * PostgreSQL (copy-from-sqlite.ts) and PgAggregateReads must give the same numbers from it.
 */

const DAY = 86_400_000;
const RETENTION_DAYS = 20;
/** Thursday 2026-02-26, 22:00 UTC: month, week and retention edges all fall in the days around it. */
const START = Date.parse('2026-02-26T22:00:00Z');
const APPS = ['app-a', 'app-b'] as const;
const TYPES = ['open', 'click', 'buy'] as const;
const SEED = 20261110;

const dir = tempDir();
let db: DB;
let ro: DB;
let reader: SnapshotReader;
let sqliteReads: SqliteAggregateReads;
let pg: Awaited<ReturnType<typeof createMigratedPgDatabase>> | undefined;
beforeAll(async () => {
  db = await openMigratedTelemetry(`${dir.path}/p.db`);
  ro = openDatabase(db.name, { readonly: true });
  reader = createInlineReader(db);
  sqliteReads = new SqliteAggregateReads(() => ro);
  if (pgAvailable) pg = await createMigratedPgDatabase();
});
afterAll(async () => {
  await pg?.close();
  await reader.close();
  ro.close();
  db.close();
  dir.cleanup();
});

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const dayStart = (ms: number) => Math.floor(ms / DAY) * DAY;
const addDays = (day: string, n: number) => dayOf(Date.parse(`${day}T00:00:00Z`) + n * DAY);
const mondayOf = (day: string) => addDays(day, -((new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7));
/** Device hashes as HMAC gives them, uniformly spread (splitmix64 of the device's index). */
function devicePool(i: number): bigint {
  let z = BigInt.asUintN(64, BigInt(i + 1) * 0x9e3779b97f4a7c15n);
  z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
  z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
  return BigInt.asIntN(64, z ^ (z >> 31n));
}

// One batch's rows land near day ends as often as anywhere in the day.
const offsetInDay = fc.oneof(fc.constantFrom(0, 1, DAY - 1, DAY - 2), fc.integer({ min: 0, max: DAY - 1 }));
const dataValues = [{ screen: 'home' }, { screen: 'shop' }, { screen: 1 }, { screen: 2.5 }, { screen: true }, { screen: false }, { screen: null }, { screen: { x: 1 } }, { screen: [1, 2] }, { other: 'x' }, { screen: 's'.repeat(300) }];
const eventArb = fc.record({
  app: fc.constantFrom(...APPS),
  device: fc.integer({ min: 0, max: 9 }),
  type: fc.constantFrom(...TYPES),
  daysAgo: fc.integer({ min: 0, max: RETENTION_DAYS - 1 }),
  at: offsetInDay,
  mv: fc.option(fc.constantFrom('1.0', '2.0'), { nil: undefined }),
  av: fc.option(fc.constantFrom('3.1', '3.2'), { nil: undefined }),
  data: fc.option(fc.constantFrom(...dataValues), { nil: undefined }),
});
const crashArb = fc.record({
  app: fc.constantFrom(...APPS),
  device: fc.integer({ min: 0, max: 9 }),
  daysAgo: fc.integer({ min: 0, max: RETENTION_DAYS - 1 }),
  at: offsetInDay,
  fingerprint: fc.constantFrom('fp1', 'fp2', 'fp3'),
  appVersion: fc.constantFrom('1.0', '1.1', '2.0'),
  crashType: fc.constantFrom('native_signal', 'anr'),
  message: fc.constantFrom('m1', 'm2'),
});
const actionArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('insert' as const), events: fc.array(eventArb, { minLength: 1, maxLength: 25 }), crashes: fc.array(crashArb, { maxLength: 4 }) }) },
  // More than EXACT_DEVICES on one day: sketches beyond the exact set.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('many' as const), app: fc.constantFrom(...APPS), daysAgo: fc.integer({ min: 0, max: 3 }), devices: fc.integer({ min: EXACT_DEVICES + 1, max: 1_600 }), from: fc.integer({ min: 100, max: 10_000 }) }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'rollup' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 1, max: 6 * 3_600_000 }), fc.integer({ min: DAY, max: 4 * DAY })) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'prune' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rebuild' as const), daysAgo: fc.integer({ min: 0, max: RETENTION_DAYS + 5 }), days: fc.integer({ min: 1, max: 10 }) }) },
);
/** Ranges to read: an offset from the first day with data and a length, so edges fall anywhere. */
const rangeArb = fc.record({ start: fc.integer({ min: -2, max: 40 }), days: fc.integer({ min: 1, max: 45 }) });
const scenarioArb = fc.record({ actions: fc.array(actionArb, { minLength: 1, maxLength: 14 }), ranges: fc.array(rangeArb, { minLength: 1, maxLength: 3 }) });

type StoredEvent = { app: string; device: bigint; type: string; ts: number; day: string; mv?: string; av?: string; data?: Record<string, unknown> };
type StoredCrash = { app: string; device: bigint; ts: number; day: string; fingerprint: string; appVersion: string; crashType: string; message: string };

function reset(): void {
  for (const p of db.prepare('SELECT name FROM telemetry_partitions').pluck().all() as string[]) dropPartition(db, p);
  db.exec(`DELETE FROM telemetry_daily; DELETE FROM telemetry_daily_dims; DELETE FROM device_days; DELETE FROM crash_daily;
    DELETE FROM crash_daily_devices; DELETE FROM rollup_positions; DELETE FROM retention_watermark; DELETE FROM job_runs;`);
}

/** Exact up to EXACT_DEVICES devices, within 2% beyond (API.md). */
function expectDevices(got: number, want: number, what: string): void {
  if (want <= EXACT_DEVICES) expect(got, what).toBe(want);
  else expect(Math.abs(got - want) / want, `${what}: ${got} for ${want}`).toBeLessThanOrEqual(0.02);
}

const distinct = (rows: { device: bigint }[]) => new Set(rows.map((r) => r.device)).size;

/** A data value as the breakdown shows it: JSON scalars as text, objects and arrays as JSON, cut to 256. */
function dataValue(data: Record<string, unknown> | undefined): string | null {
  const v = data?.screen;
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v.slice(0, 256);
  if (typeof v === 'object') return JSON.stringify(v).slice(0, 256);
  return String(v);
}

/** Values most frequent first, ties by value (null first), as the breakdown orders them. */
function expectedBreakdown(rows: StoredEvent[], valueOf: (e: StoredEvent) => string | null, limit: number) {
  const groups = new Map<string | null, StoredEvent[]>();
  for (const e of rows) groups.set(valueOf(e), [...(groups.get(valueOf(e)) ?? []), e]);
  const items = [...groups].map(([value, es]) => ({ value, count: es.length, devices: distinct(es) }));
  items.sort((a, b) => b.count - a.count || (a.value === b.value ? 0 : a.value === null ? -1 : b.value === null ? 1 : a.value < b.value ? -1 : 1));
  return { items: items.slice(0, limit), other_count: items.slice(limit).reduce((s, i) => s + i.count, 0) };
}

/** The telemetry PostgreSQL holding exactly what telemetry.db holds now: emptied, then copied. */
async function pgCopy(pgdb: NonNullable<typeof pg>): Promise<AggregateReads> {
  await pgdb.pool.query(`TRUNCATE telemetry_events, crash_reports, dim_apps, dim_event_types, app_event_types, telemetry_daily, telemetry_daily_dims,
    device_days, crash_daily, crash_daily_devices, retention_watermark, telemetry_copy_progress RESTART IDENTITY CASCADE`);
  await copyFromSqlite(db, pgdb.pool, { retentionDays: 3_650, now: () => START, allowUnfolded: true });
  return new PgAggregateReads(pgdb.pool);
}

async function checkReads(reads: AggregateReads, events: StoredEvent[], crashes: StoredCrash[], from: string, to: string): Promise<void> {
  const keptFrom = (db.prepare("SELECT kept_from FROM retention_watermark WHERE kind = 'events'").pluck().get() as string | undefined) ?? '';
  for (const app of APPS) {
    const q = { appId: app, from, to };
    const evs = events.filter((e) => e.app === app && e.day >= from && e.day <= to);
    const label = `${app} ${from}..${to}`;

    // Daily series: per (date, type), by date then type.
    const daily = await reads.dailyCounts(q);
    const keys = [...new Set(evs.map((e) => `${e.day}|${e.type}`))].sort();
    expect(daily.map((d) => `${d.date}|${d.event_type}`), label).toEqual(keys);
    for (const d of daily) {
      const rows = evs.filter((e) => e.day === d.date && e.type === d.event_type);
      expect(d.count, `${label} ${d.date} ${d.event_type}`).toBe(rows.length);
      expectDevices(d.unique_devices, distinct(rows), `${label} ${d.date} ${d.event_type} devices`);
    }
    expect(await reads.dailyCounts({ ...q, eventType: 'click' }), label).toEqual(daily.filter((d) => d.event_type === 'click'));
    const types = new Set(evs.map((e) => e.type)).size;
    expect(await reads.eventTypeCount(q)).toBe(types);
    expect(await reads.eventTypeCount({ ...q, cap: 1 })).toBe(Math.min(types, 2));

    // Active devices per day, ISO week and month, clipped to the range; the total is a union, not a sum.
    for (const interval of ['day', 'week', 'month'] as DeviceInterval[]) {
      const got = await reads.activeDevices({ ...q, interval });
      const periodOf = (day: string) => (interval === 'day' ? day : interval === 'week' ? mondayOf(day) : `${day.slice(0, 7)}-01`);
      const periods: string[] = [];
      for (let d = from; d <= to; d = addDays(d, 1)) if (periods.at(-1) !== periodOf(d)) periods.push(periodOf(d));
      expect(got.items.map((i) => i.period_start), `${label} ${interval}`).toEqual(periods);
      for (const item of got.items) expectDevices(item.devices, distinct(evs.filter((e) => periodOf(e.day) === item.period_start)), `${label} ${interval} ${item.period_start}`);
      expectDevices(got.total_devices, distinct(evs), `${label} ${interval} total`);
    }

    // Breakdowns: the kept dimensions from the aggregates, `data.screen` and per-type ones from raw rows in retention.
    const raw = evs.filter((e) => e.day >= keptFrom);
    const cases: [BreakdownBy, string | undefined, StoredEvent[], (e: StoredEvent) => string | null][] = [
      [{ kind: 'event_type' }, undefined, evs, (e) => e.type],
      [{ kind: 'event_type' }, 'open', evs.filter((e) => e.type === 'open'), (e) => e.type],
      [{ kind: 'mosis_version' }, undefined, evs, (e) => e.mv ?? null],
      [{ kind: 'app_version' }, undefined, evs, (e) => e.av ?? null],
      [{ kind: 'mosis_version' }, 'open', raw.filter((e) => e.type === 'open'), (e) => e.mv ?? null],
      [{ kind: 'app_version' }, 'click', raw.filter((e) => e.type === 'click'), (e) => e.av ?? null],
      [{ kind: 'data', key: 'screen' }, undefined, raw, (e) => dataValue(e.data)],
      [{ kind: 'data', key: 'screen' }, 'buy', raw.filter((e) => e.type === 'buy'), (e) => dataValue(e.data)],
    ];
    for (const [by, eventType, rows, valueOf] of cases) {
      for (const limit of [1, 3]) {
        const got = await reads.breakdown({ ...q, by, eventType, limit });
        const want = expectedBreakdown(rows, valueOf, limit);
        const what = `${label} breakdown ${JSON.stringify(by)} ${eventType ?? ''} limit ${limit}`;
        expect({ values: got.items.map((i) => [i.value, i.count]), other: got.other_count }, what).toEqual({ values: want.items.map((i) => [i.value, i.count]), other: want.other_count });
        for (const [i, item] of got.items.entries()) expectDevices(item.devices, want.items[i]!.devices, `${what} ${item.value}`);
      }
    }

    // Summary: devices that sent events or crashes; crash-free share of them.
    const crs = crashes.filter((c) => c.app === app && c.day >= from && c.day <= to);
    const summary = await reads.summary({ ...q, topEventTypes: 2 });
    const allDevices = new Set([...evs.map((e) => e.device), ...crs.map((c) => c.device)]).size;
    const crashed = distinct(crs);
    expect({ events: summary.events, crashes: summary.crashes, crashed: summary.crashed_devices }, label).toEqual({ events: evs.length, crashes: crs.length, crashed });
    expectDevices(summary.devices, allDevices, `${label} summary devices`);
    expect(summary.crash_free_devices_pct).toBe(summary.devices ? Math.round((10_000 * (summary.devices - crashed)) / summary.devices) / 100 : null);
    expect(summary.top_event_types).toEqual(expectedBreakdown(evs, (e) => e.type, 2).items.map((i) => ({ event_type: i.value, count: i.count })));

    // Crash groups: exact devices over the range; the sample is the first stored crash of the group's first day.
    const groups = await reads.crashGroups({ ...q, limit: 10 });
    const byFp = new Map<string, StoredCrash[]>();
    for (const c of crs) byFp.set(c.fingerprint, [...(byFp.get(c.fingerprint) ?? []), c]);
    const want = [...byFp]
      .map(([fingerprint, cs]) => {
        const firstDay = cs.map((c) => c.day).sort()[0]!;
        const sample = cs.find((c) => c.day === firstDay)!;
        return {
          fingerprint,
          crash_type: sample.crashType,
          message: sample.message,
          count: cs.length,
          devices: distinct(cs),
          first_seen: Math.min(...cs.map((c) => c.ts)),
          last_seen: Math.max(...cs.map((c) => c.ts)),
          app_versions: [...new Set(cs.map((c) => c.appVersion))].sort(),
        };
      })
      .sort((a, b) => b.count - a.count || (a.fingerprint < b.fingerprint ? -1 : 1));
    expect(groups, `${label} crash groups`).toEqual(want);
  }
}

/** How long the property may run (fast-check's 80 scenarios on both backends). */
const PROPERTY_TIMEOUT_MS = 300_000;

describe('aggregate reads equal plain counts over the stored rows (property)', () => {
  it('after random batches, clock moves, rollups, prunes and rebuilds', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ({ actions, ranges }) => {
        reset();
        let clock = START;
        const events: StoredEvent[] = [];
        const crashes: StoredCrash[] = [];
        const tsOf = (daysAgo: number, at: number) => dayStart(clock) - daysAgo * DAY + at;
        for (const a of actions) {
          if (a.kind === 'insert') {
            const es = a.events.map((e): StoredEvent => {
              const ts = tsOf(e.daysAgo, e.at);
              return { app: e.app, device: devicePool(e.device), type: e.type, ts, day: dayOf(ts), mv: e.mv, av: e.av, data: e.data };
            });
            insertEvents(db, es.map((e) => ({ app: e.app, device: e.device, type: e.type, ts: e.ts, mosisVersion: e.mv, appVersion: e.av, data: e.data && JSON.stringify(e.data) })));
            events.push(...es);
            const cs = a.crashes.map((c): StoredCrash => {
              const ts = tsOf(c.daysAgo, c.at);
              return { app: c.app, device: devicePool(c.device), ts, day: dayOf(ts), fingerprint: c.fingerprint, appVersion: c.appVersion, crashType: c.crashType, message: c.message };
            });
            insertCrashes(db, cs.map((c): RawCrash => ({ app: c.app, device: c.device, ts: c.ts, fingerprint: c.fingerprint, appVersion: c.appVersion, crashType: c.crashType, message: c.message })));
            crashes.push(...cs);
          } else if (a.kind === 'many') {
            const ts = tsOf(a.daysAgo, 43_200_000);
            const es = Array.from({ length: a.devices }, (_, i): StoredEvent => ({ app: a.app, device: devicePool(a.from + i), type: 'open', ts: ts + i, day: dayOf(ts + i) }));
            insertEvents(db, es.map((e) => ({ app: e.app, device: e.device, type: e.type, ts: e.ts })));
            events.push(...es);
          } else if (a.kind === 'rollup') {
            await rollup({ db, reader, now: () => clock });
          } else if (a.kind === 'advance') {
            clock += a.ms;
          } else if (a.kind === 'prune') {
            await prune({ db, reader, retentionDays: RETENTION_DAYS, now: () => clock });
          } else {
            const from = dayOf(clock - a.daysAgo * DAY);
            await rebuildRange({ db, reader, now: () => clock, from, to: addDays(from, a.days - 1) });
          }
        }
        await rollup({ db, reader, now: () => clock });
        const first = [...events.map((e) => e.day), ...crashes.map((c) => c.day)].sort()[0] ?? dayOf(START);
        for (const reads of [sqliteReads, ...(pg ? [await pgCopy(pg)] : [])]) {
          for (const r of ranges) {
            const from = addDays(first, r.start);
            await checkReads(reads, events, crashes, from, addDays(from, r.days - 1));
          }
          // And the whole span, every row included.
          await checkReads(reads, events, crashes, addDays(first, -1), dayOf(clock + DAY));
        }
      }),
      { numRuns: 80, seed: SEED },
    );
    // 80 scenarios, each checked on SQLite and on a PostgreSQL copy: about 30 s on a quiet 2-core machine,
    // past the suite's 60 s hang limit beside two CPU burners. Its own limit, not fewer scenarios.
  }, PROPERTY_TIMEOUT_MS);
});
