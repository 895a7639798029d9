import { DATABASES, migrateUp, openDatabase, tempDir, type DB } from '@mosis/shared';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FUTURE_MS } from '../../limits.js';
import { DeviceHasher } from '../../privacy/device-hash.js';
import { uuidBytes } from '../../validation/fields.js';
import { partitionName } from '../partitions.js';
import { copyFromSqlite } from '../postgres/copy-from-sqlite.js';
import { pgEventsDaySql, PG_LATEST_DAY_SQL, PG_TAIL_SQL } from '../postgres/raw-reads.js';
import { openPgTelemetryReads } from '../postgres/reads.js';
import { createMigratedPgDatabase, describePg } from '../postgres/testing.js';
import { InvalidPositionError, type RawEvent, type TelemetryReads } from '../reads.js';
import { SqliteTelemetryStore } from './store.js';
import type { CrashRecord, EventRecord } from '../types.js';
import { eventsDaySql, tailSql } from './raw-reads.js';
import { openSqliteTelemetryReads, type SqliteTelemetryReads } from './reads.js';

/**
 * Raw events newest first through the real store's rows: every event of the app once, in a total order,
 * filtered and clamped exactly as a plain query over the view says, and no cursor a client can send is a 500
 * or shows another app's rows. On both backends: the PostgreSQL fixture is the same rows, copied from the
 * SQLite one by copy-from-sqlite.ts (ids in the same order within each month), answered by PgTelemetryReads.
 */

const SECRET = 'raw-reads-test-secret-0123456789abcdef';
const DAY = 86_400_000;
const NOW = Date.parse('2026-11-28T12:00:00.000Z');
/** First millisecond of the raw retention (90 days): 2026-08-30. */
const KEPT_FROM = Date.parse('2026-08-30T00:00:00.000Z');
const DEVICES = ['dev-1', 'dev-2', 'dev-3'];
const CRASH_STAMPS = [KEPT_FROM - 1, KEPT_FROM, Date.parse('2026-10-31T23:00:00Z'), Date.parse('2026-11-02T00:00:00Z'), Date.parse('2026-11-02T00:00:00Z')];
const TYPES = ['open', 'click', 'buy'];

const dir = tempDir();
const hasher = new DeviceHasher(SECRET);
let db: DB;
let sqliteReads: SqliteTelemetryReads;
let clock = NOW;

/** A deterministic pseudo-random sequence (LCG), so the fixture is the same on every run. */
function lcg(seed: number) {
  let s = seed;
  return () => (s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

function row(app: 'app-a' | 'app-b', ts: number, i: number): EventRecord {
  return {
    appId: app,
    packageId: `com.test.${app.replace('-', '')}`,
    deviceHash: hasher.hash(DEVICES[i % DEVICES.length]!),
    eventType: TYPES[(i >> 1) % TYPES.length]!,
    timestamp: ts,
    eventId: uuidBytes(randomUUID()),
    mosisVersion: i % 5 ? '1.4.2' : null,
    appVersion: i % 3 ? `1.${i % 4}.0` : null,
    data: i % 2 ? JSON.stringify({ i }) : null,
  };
}

beforeAll(async () => {
  db = openDatabase(`${dir.path}/telemetry.db`);
  await migrateUp(db, DATABASES.telemetry.migrations);
  const store = new SqliteTelemetryStore(db, { maxEventTypesPerApp: 100, now: () => clock });
  const random = lcg(7);
  // Timestamps from before the retention to past the future bound, out of order, many shared by several
  // rows (ties), across four months; committed in many transactions, so ids do not follow timestamps.
  const edges = [KEPT_FROM - 1, KEPT_FROM, KEPT_FROM, NOW + MAX_FUTURE_MS, NOW + MAX_FUTURE_MS + 1, Date.parse('2026-10-31T23:59:59.999Z'), Date.parse('2026-11-01T00:00:00.000Z')];
  const stamps = [...edges, ...Array.from({ length: 400 }, () => KEPT_FROM - 5 * DAY + Math.floor(random() * 95 * DAY))];
  for (let i = 0; i < stamps.length; i += 23) {
    const batch = stamps.slice(i, i + 23);
    // A tie on purpose: every third timestamp repeats the one before it.
    const rows = batch.flatMap((ts, k) => [row('app-a', k % 3 === 2 ? batch[k - 1]! : ts, i + k), row('app-b', ts, i + k)]);
    clock += 1_000;
    store.write([{ kind: 'events', rows }]);
  }
  // Crash reports across the retention's first day and a month edge, two of them at the same millisecond.
  const crash = (ts: number, fingerprint: string): CrashRecord => ({
    appId: 'app-a', packageId: 'com.test.appa', deviceHash: hasher.hash('dev-1'), timestamp: ts, crashId: null, fingerprint,
    crashType: 'native_signal', appVersion: '1.0.0', message: 'SIGSEGV', stackTrace: null, context: '{"m":1}', mosisVersion: null,
  });
  store.write([{ kind: 'crashes', rows: CRASH_STAMPS.map((ts, i) => crash(ts, i % 2 ? 'fp-odd' : 'fp-even')) }]);
  sqliteReads = openSqliteTelemetryReads({ path: db.name, deviceSecret: SECRET, retentionDays: 90, now: () => NOW });
});
afterAll(async () => {
  await sqliteReads.close();
  db.close();
  dir.cleanup();
});

interface Truth {
  id: number;
  event_id: string;
  ts: number;
  device: string;
  event_type: string;
}

/** The truth from the readable view: app-a's rows, newest first by (timestamp, id). */
function truth(filter: (r: Truth) => boolean = () => true): string[] {
  const rows = db
    .prepare("SELECT id, lower(hex(event_id)) AS event_id, timestamp, device_id AS device, event_type FROM telemetry_events WHERE app_id = 'app-a'")
    .all() as Array<Omit<Truth, 'ts'> & { timestamp: string }>;
  return rows
    .map((r) => ({ ...r, ts: Date.parse(r.timestamp) }))
    .filter((r) => r.ts >= KEPT_FROM && r.ts <= NOW + MAX_FUTURE_MS && filter(r))
    .sort((a, b) => b.ts - a.ts || b.id - a.id)
    .map((r) => r.event_id);
}

const idOf = (e: RawEvent) => e.event_id!.replaceAll('-', '');
const deviceHex = (raw: string) => BigInt.asUintN(64, hasher.hash(raw)).toString(16).padStart(16, '0');

/** One backend's answers: `reads()` its TelemetryReads over the fixture; `secretless()` the same without a device-hash secret. */
interface Backend {
  reads: () => TelemetryReads;
  secretless: () => TelemetryReads;
}

function rawReadsSuite(backend: Backend) {
  /** Walks every page of a listing; returns the event ids in order and the number of pages. */
  async function walk(q: { fromMs?: number; toMs?: number; eventType?: string; deviceId?: string }, limit = 7) {
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await backend.reads().events({ appId: 'app-a', fromMs: q.fromMs ?? 0, toMs: q.toMs ?? Number.MAX_SAFE_INTEGER, eventType: q.eventType, deviceId: q.deviceId, limit, cursor });
      expect(page.items.length).toBeLessThanOrEqual(limit);
      ids.push(...page.items.map(idOf));
      cursor = page.next_cursor ?? undefined;
      pages++;
    } while (cursor && pages < 1_000);
    return { ids, pages };
  }

  describe('events', () => {
    it('pages through every kept event of the app once, newest first by (timestamp, id), nothing of another app', async () => {
      const expected = truth();
      expect(expected.length).toBeGreaterThan(300);
      const { ids, pages } = await walk({});
      expect(ids).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / 7));
    });

    it('answers the stored fields of each event', async () => {
      const at = Date.parse('2026-11-01T00:00:00.000Z');
      const page = await backend.reads().events({ appId: 'app-a', fromMs: at, toMs: at, limit: 10 });
      const stored = db
        .prepare(
          `SELECT p.*, t.name AS type, printf('%016x', p.device_id) AS device FROM ${partitionName('events', '2026-11')} p JOIN dim_event_types t ON t.id = p.event_type
           WHERE timestamp = ? AND app_id = (SELECT id FROM dim_apps WHERE app_id = 'app-a') ORDER BY p.id DESC`,
        )
        .all(at) as Array<Record<string, any>>;
      expect(stored.length).toBeGreaterThan(0);
      expect(page.items).toEqual(
        stored.map((s) => ({
          event_id: [...(s.event_id as Buffer).toString('hex').matchAll(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/g)][0]!.slice(1).join('-'),
          event_type: s.type,
          timestamp: at,
          received_at: s.received_at,
          device: s.device,
          mosis_version: s.mosis_version,
          app_version: s.app_version,
          data: s.event_data ? JSON.parse(s.event_data) : null,
        })),
      );
      expect(stored[0]!.received_at).toBeGreaterThan(NOW);
    });

    it.each([
      ['one device (its raw id, hashed by the store)', { deviceId: 'dev-2' }, (r: Truth) => r.device === deviceHex('dev-2')],
      ['one event type', { eventType: 'click' }, (r: Truth) => r.event_type === 'click'],
      ['a device and a type', { deviceId: 'dev-3', eventType: 'buy' }, (r: Truth) => r.device === deviceHex('dev-3') && r.event_type === 'buy'],
      [
        'from and to, both included, across a month boundary',
        { fromMs: Date.parse('2026-10-31T23:59:59.999Z'), toMs: Date.parse('2026-11-03T00:00:00.000Z') },
        (r: Truth) => r.ts >= Date.parse('2026-10-31T23:59:59.999Z') && r.ts <= Date.parse('2026-11-03T00:00:00.000Z'),
      ],
      ['a from before the retention (clamped to its first day)', { fromMs: KEPT_FROM - 30 * DAY, toMs: KEPT_FROM + 3 * DAY }, (r: Truth) => r.ts <= KEPT_FROM + 3 * DAY],
    ])('filters by %s exactly as a plain query does', async (_name, q, filter) => {
      const expected = truth(filter);
      expect(expected.length).toBeGreaterThan(0);
      expect((await walk(q)).ids).toEqual(expected);
      expect((await walk(q, 1)).ids).toEqual(expected);
    });

    it('keeps the raw retention exactly: its first millisecond is in, the one before and past the future bound are out', async () => {
      const all = truth(() => true);
      const atEdge = await walk({ fromMs: KEPT_FROM - 1, toMs: KEPT_FROM });
      expect(atEdge.ids).toHaveLength(2); // KEPT_FROM twice in the fixture; KEPT_FROM - 1 is before the retention
      expect(all).toEqual(expect.arrayContaining(atEdge.ids));
      expect((await walk({ fromMs: 0, toMs: KEPT_FROM - 1 })).ids).toEqual([]);
      expect((await walk({ fromMs: NOW + MAX_FUTURE_MS + 1 })).ids).toEqual([]);
    });

    it('answers empty for an unknown event type, an unknown app, and a device filter without a secret', async () => {
      expect((await walk({ eventType: 'never_sent' })).ids).toEqual([]);
      expect((await backend.reads().events({ appId: 'no-such-app', fromMs: 0, toMs: NOW, limit: 5 })).items).toEqual([]);
      const secretless = backend.secretless();
      expect((await secretless.events({ appId: 'app-a', fromMs: 0, toMs: NOW, deviceId: 'dev-1', limit: 5 })).items).toEqual([]);
      expect((await secretless.events({ appId: 'app-a', fromMs: 0, toMs: NOW, limit: 5 })).items).toHaveLength(5);
      await secretless.close();
    });

    it.each([
      ['not base64url', '!!!'],
      ['empty JSON', Buffer.from('').toString('base64url') || '_'],
      ['not JSON', Buffer.from('{[').toString('base64url')],
      ['an object', cursorOf({ t: 1, i: 2 })],
      ['a string', cursorOf('x')],
      ['three numbers', cursorOf([1, 2, 3])],
      ['a negative timestamp', cursorOf([-1, 5])],
      ['a timestamp past any date', cursorOf([8.64e15 + 1, 5])],
      ['a fractional id', cursorOf([NOW, 1.5])],
      ['id 0', cursorOf([NOW, 0])],
      ['an unsafe integer', cursorOf([NOW, 2 ** 60])],
      ['strings for numbers', cursorOf(['1', '2'])],
      ['a very long text', 'A'.repeat(10_000)],
    ])('refuses a cursor that is %s with InvalidPositionError', async (_name, cursor) => {
      await expect(backend.reads().events({ appId: 'app-a', fromMs: 0, toMs: NOW, limit: 5, cursor })).rejects.toBeInstanceOf(InvalidPositionError);
    });

    it('answers a forged but well-formed cursor with the app\'s own rows below it, never another app\'s', async () => {
      const all = truth();
      for (const [ts, id] of [[NOW, 1], [Date.parse('2026-10-15T00:00:00Z'), 10 ** 9], [1, 1], [8.64e15, 2 ** 50]] as const) {
        const page = await backend.reads().events({ appId: 'app-a', fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, limit: 1_000, cursor: cursorOf([ts, id]) });
        const ids = page.items.map(idOf);
        expect(all).toEqual(expect.arrayContaining(ids));
        expect(page.items.every((e) => e.timestamp <= ts)).toBe(true);
      }
    });

    it('gives a head from which a tail has nothing yet', async () => {
      const { head } = await backend.reads().events({ appId: 'app-a', fromMs: 0, toMs: NOW, limit: 1 });
      expect((await backend.reads().tail({ appId: 'app-a', after: head, limit: 100 })).items).toEqual([]);
    });
  });

  describe('crashes', () => {
    it('pages newest first within the retention, by fingerprint or not, and refuses a cursor it did not give out', async () => {
      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await backend.reads().crashes({ appId: 'app-a', limit: 2, cursor });
        seen.push(...page.items.map((c) => c.timestamp));
        expect(page.items.every((c) => c.device === deviceHex('dev-1') && c.context?.m === 1)).toBe(true);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual(CRASH_STAMPS.slice(1).reverse());
      expect((await backend.reads().crashes({ appId: 'app-a', fingerprint: 'fp-odd', limit: 10 })).items.map((c) => c.timestamp)).toEqual([CRASH_STAMPS[3], KEPT_FROM]);
      await expect(backend.reads().crashes({ appId: 'app-a', limit: 2, cursor: cursorOf([1.5, 1]) })).rejects.toBeInstanceOf(InvalidPositionError);
    });
  });
}

function cursorOf(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('SqliteTelemetryReads (raw)', () => {
  rawReadsSuite({ reads: () => sqliteReads, secretless: () => openSqliteTelemetryReads({ path: db.name, retentionDays: 90, now: () => NOW }) });

  it('reads through the partition index only: one app-day prefix per query (device included), a rowid range for the tail', () => {
    const part = partitionName('events', '2026-11');
    const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array(sql.split('?').length - 1).fill(1)) as { detail: string }[]).map((r) => r.detail).join('; ');
    expect(plan(eventsDaySql(part, { device: false, type: true }))).toMatch(new RegExp(`SEARCH p USING INDEX ${part}_app_day \\(app_id=\\? AND <expr>=\\?\\)`));
    expect(plan(eventsDaySql(part, { device: true, type: false }))).toMatch(new RegExp(`SEARCH p USING INDEX ${part}_app_day \\(app_id=\\? AND <expr>=\\? AND device_id=\\?\\)`));
    expect(plan(tailSql(part))).toMatch(/SEARCH p USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/);
    expect(plan(tailSql(part))).not.toMatch(/_app_day/);
  });
});

describePg('PgTelemetryReads (raw)', () => {
  let pg: Awaited<ReturnType<typeof createMigratedPgDatabase>>;
  let pgReads: TelemetryReads;
  beforeAll(async () => {
    pg = await createMigratedPgDatabase();
    // Every row, those before the retention included (the reads must clamp them, not the copy).
    await copyFromSqlite(db, pg.pool, { retentionDays: 3_650, now: () => NOW, allowUnfolded: true });
    pgReads = openPgTelemetryReads({ url: pg.url, deviceSecret: SECRET, retentionDays: 90, now: () => NOW });
  });
  afterAll(async () => {
    await pgReads?.close();
    await pg?.close();
  });

  rawReadsSuite({ reads: () => pgReads, secretless: () => openPgTelemetryReads({ url: pg.url, retentionDays: 90, now: () => NOW }) });

  it('reads through the partition indexes only: one month partition and its (app_id, day) prefix per day, the id index for the tail', async () => {
    const c = await pg.pool.connect();
    try {
      // The fixture is small enough for a sequential scan to win: what is checked is that the index serves the query.
      await c.query('SET enable_seqscan = off');
      const plan = async (sql: string, params: unknown[]) => (await c.query(`EXPLAIN ${sql}`, params)).rows.map((r) => r['QUERY PLAN'] as string).join('\n');
      const day = Math.floor(Date.parse('2026-11-02T00:00:00Z') / DAY);
      const byType = await plan(pgEventsDaySql({ device: false, type: true }), [1, day, 0, NOW, 1, 10, 1]);
      expect(byType).toMatch(/Index Cond: \(\(app_id = 1\) AND \(day = \d+\)\)/);
      expect(byType.match(/telemetry_events_\d{4}_\d{2}/g)?.every((t) => t === 'telemetry_events_2026_11')).toBe(true);
      const byDevice = await plan(pgEventsDaySql({ device: true, type: false }), [1, day, 0, NOW, 1, 10, '5']);
      expect(byDevice).toMatch(/Index Cond: \(\(app_id = 1\) AND \(day = \d+\) AND \(device_id = '?5'?(::bigint)?\)\)/);
      expect(await plan(PG_LATEST_DAY_SQL, [1, day - 90, day])).toMatch(/Index Only Scan Backward using telemetry_events_2026_11_app_id_day/);
      const tail = await plan(PG_TAIL_SQL, [10, 20, 1, 10]);
      expect(tail).toMatch(/Index Cond: \(\(id > '?10'?(::bigint)?\) AND \(id <= '?20'?(::bigint)?\)\)/);
      expect(tail).not.toMatch(/app_id_day/);
    } finally {
      c.release();
    }
  });
});
