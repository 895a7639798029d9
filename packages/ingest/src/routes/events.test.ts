import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EVENTS_BODY_BYTES } from '../limits.js';
import { event, startTestIngest, type TestIngest } from '../testing.js';

const APP = 'com.dev.app';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let t: TestIngest;
beforeAll(async () => {
  t = await startTestIngest({ apps: [{ packageId: APP }, { packageId: 'com.dev.suspended', status: 'suspended' }, { packageId: 'com.dev.draft', status: 'draft' }] });
});
afterAll(() => t.stop());

const post = (body: unknown, opts?: Parameters<TestIngest['post']>[2]) => t.post('/v1/events', body, opts);

describe('POST /v1/events', () => {
  it('stores a valid batch and answers 202 with the counts', async () => {
    const before = t.count();
    const res = await post({ sent_at: new Date().toISOString(), events: [event(APP), event(APP), event('com.dev.draft')] });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 3, duplicates: 0, rejected: [] });
    expect(t.count() - before).toBe(3);
  });

  it('rejects bad events one by one with a reason and stores the rest', async () => {
    const before = t.count();
    const now = Date.now();
    const events = [
      event(APP),
      event('com.unknown.app'),
      event('com.dev.suspended'),
      event(APP, { event_type: 'has space' }),
      event(APP, { event_type: 'x'.repeat(65) }),
      event(APP, { device_id: undefined }),
      event(APP, { device_id: '' }),
      event(APP, { event_id: 'not-a-uuid' }),
      event(APP, { timestamp: 'yesterday' }),
      event(APP, { timestamp: new Date(now + DAY + HOUR).toISOString() }),
      event(APP, { timestamp: new Date(now - 91 * DAY).toISOString() }),
      event(APP, { data: { blob: 'x'.repeat(8 * 1024) } }),
      event(APP, { data: [1, 2] }),
      event(APP, { app: 42 }),
      'not an object',
      null,
      event(APP),
    ];
    const res = await post({ events });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; duplicates: number; rejected: Array<{ index: number; reason: string; field?: string }> };
    expect(body.accepted).toBe(2);
    expect(body.duplicates).toBe(0);
    expect(body.rejected.map((r) => [r.index, r.reason, r.field])).toEqual([
      [1, 'unknown_app', undefined],
      [2, 'app_suspended', undefined],
      [3, 'invalid_event', 'event_type'],
      [4, 'invalid_event', 'event_type'],
      [5, 'invalid_event', 'device_id'],
      [6, 'invalid_event', 'device_id'],
      [7, 'invalid_event', 'event_id'],
      [8, 'invalid_event', 'timestamp'],
      [9, 'timestamp_out_of_window', 'timestamp'],
      [10, 'timestamp_out_of_window', 'timestamp'],
      [11, 'data_too_large', 'data'],
      [12, 'invalid_event', 'data'],
      [13, 'invalid_event', 'app'],
      [14, 'invalid_event', undefined],
      [15, 'invalid_event', undefined],
    ]);
    expect(t.count() - before).toBe(2);
  });

  it('rejects data nested deeper than 32 levels alone, naming the field, and stores its neighbours', async () => {
    // Built as text: 4,200 levels overflow JSON.stringify (the 500 this guards against).
    const objects = (depth: number) => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
    const arrays = (depth: number) => '{"a":' + '['.repeat(depth - 1) + ']'.repeat(depth - 1) + '}';
    const deep: Record<string, string> = { D4200: objects(4_200), D32: objects(32), D33: objects(33), A4200: arrays(4_200), A32: arrays(32) };
    const events = [event(APP), event(APP, { data: 'D4200' }), event(APP, { data: 'D32' }), event(APP, { data: 'D33' }), event(APP, { data: 'A4200' }), event(APP, { data: 'A32' }), event(APP)];
    const raw = JSON.stringify({ events }).replace(/"(D4200|D32|D33|A4200|A32)"/g, (_, k: string) => deep[k]!);
    const before = t.count();
    const res = await post(undefined, { raw });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; rejected: Array<{ index: number; reason: string; field?: string; message?: string }> };
    expect(body.accepted).toBe(4);
    expect(body.rejected.map((r) => [r.index, r.reason, r.field])).toEqual([
      [1, 'invalid_event', 'data'],
      [3, 'invalid_event', 'data'],
      [4, 'invalid_event', 'data'],
    ]);
    expect(body.rejected[0]!.message).toContain('32 levels');
    expect(t.count() - before).toBe(4);
  });

  it('says what the accepted window is when a timestamp falls outside it', async () => {
    const now = Date.parse('2026-11-28T10:00:00.000Z');
    const fixed = await startTestIngest({ apps: [{ packageId: APP }], now: () => now });
    try {
      // The device clock is 1 h behind: its timestamps are corrected forward by 1 h.
      const sentAt = new Date(now - HOUR).toISOString();
      const res = await fixed.post('/v1/events', { sent_at: sentAt, events: [event(APP, { timestamp: new Date(now + 24 * HOUR).toISOString() }), event(APP, { timestamp: '2026-08-01T00:00:00.000Z' })] });
      const body = (await res.json()) as { rejected: Array<{ index: number; reason: string; field: string; message: string; details: Record<string, string> }> };
      const window = { earliest: '2026-08-30T10:00:00.000Z', latest: '2026-11-29T10:00:00.000Z' };
      expect(body.rejected).toEqual([
        { index: 0, reason: 'timestamp_out_of_window', field: 'timestamp', message: expect.stringContaining('2026-08-30T10:00:00.000Z to 2026-11-29T10:00:00.000Z'), details: { ...window, corrected_timestamp: '2026-11-29T11:00:00.000Z' } },
        { index: 1, reason: 'timestamp_out_of_window', field: 'timestamp', message: expect.stringContaining('2026-08-01T01:00:00.000Z'), details: { ...window, corrected_timestamp: '2026-08-01T01:00:00.000Z' } },
      ]);
    } finally {
      await fixed.stop();
    }
  });

  it('accepts data of exactly 8 KiB and stores {} as NULL', async () => {
    const pad = 8 * 1024 - JSON.stringify({ b: '' }).length;
    const id1 = randomUUID();
    const id2 = randomUUID();
    const res = await post({ events: [event(APP, { event_id: id1, data: { b: 'x'.repeat(pad) } }), event(APP, { event_id: id2, data: {} })] });
    expect(await res.json()).toMatchObject({ accepted: 2 });
    const rows = t.telemetry
      .prepare('SELECT length(event_data) AS n FROM telemetry_events WHERE event_id IN (?, ?) ORDER BY id')
      .all(Buffer.from(id1.replaceAll('-', ''), 'hex'), Buffer.from(id2.replaceAll('-', ''), 'hex'));
    expect(rows).toEqual([{ n: 8 * 1024 }, { n: null }]);
  });

  it('corrects timestamps by the device clock skew from sent_at', async () => {
    // The device clock is 2 hours behind: its "now" is the server's now minus 2 h.
    const skew = 2 * HOUR;
    const deviceNow = Date.now() - skew;
    const id = randomUUID();
    const res = await post({ sent_at: new Date(deviceNow).toISOString(), events: [event(APP, { event_id: id, timestamp: new Date(deviceNow - 5_000).toISOString() })] });
    expect(await res.json()).toMatchObject({ accepted: 1 });
    const stored = t.telemetry.prepare("SELECT timestamp FROM telemetry_events WHERE event_id = ?").get(Buffer.from(id.replaceAll('-', ''), 'hex')) as { timestamp: string };
    expect(Math.abs(Date.parse(stored.timestamp) - (Date.now() - 5_000))).toBeLessThan(2_000);
  });

  it('judges the window after correction: a fast device clock is not "in the future"', async () => {
    const deviceNow = Date.now() + 3 * DAY;
    const res = await post({ sent_at: new Date(deviceNow).toISOString(), events: [event(APP, { timestamp: new Date(deviceNow).toISOString() })] });
    expect(await res.json()).toMatchObject({ accepted: 1, rejected: [] });
    const far = await post({ sent_at: new Date().toISOString(), events: [event(APP, { timestamp: new Date(Date.now() + 3 * DAY).toISOString() })] });
    expect(await far.json()).toMatchObject({ accepted: 0, rejected: [{ index: 0, reason: 'timestamp_out_of_window' }] });
  });

  it('rejects events older than RETENTION_DAYS, so none lands in a day retention already pruned', async () => {
    const short = await startTestIngest({ apps: [{ packageId: APP }], env: { RETENTION_DAYS: '7' } });
    try {
      const at = (days: number) => new Date(Date.now() - days * DAY).toISOString();
      const res = await short.post('/v1/events', { events: [event(APP, { timestamp: at(6) }), event(APP, { timestamp: at(8) })] });
      expect(await res.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1, reason: 'timestamp_out_of_window' }] });
      // The default (90 days) still takes the 8-day-old event.
      const dflt = await post({ events: [event(APP, { timestamp: at(8) })] });
      expect(await dflt.json()).toMatchObject({ accepted: 1, rejected: [] });
    } finally {
      await short.stop();
    }
  });

  it('stores a repeated event_id once, within a batch and across requests, and counts duplicates', async () => {
    const e = event(APP);
    const before = t.count();
    const res = await post({ events: [e, e, event(APP)] });
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 1, rejected: [] });
    // A retry with a later sent_at shifts the corrected timestamp a little: still the same event.
    const retry = await post({ sent_at: new Date(Date.now() - 1_500).toISOString(), events: [e] });
    expect(await retry.json()).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
    expect(t.count() - before).toBe(2);
  });

  it('stores events without event_id every time (no idempotency key)', async () => {
    const e = event(APP, { event_id: undefined });
    const res = await post({ events: [e, e] });
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
  });

  it('never writes the raw device id, and hashes one device the same way every time', async () => {
    const raw = `raw-device-${randomUUID()}`;
    await post({ events: [event(APP, { device_id: raw }), event(APP, { device_id: raw }), event(APP, { device_id: `${raw}-other` })] });
    const hashes = t.telemetry.prepare('SELECT DISTINCT device_id FROM telemetry_events ORDER BY id DESC LIMIT 2').all();
    expect(hashes).toHaveLength(2);
    const dump = t.telemetry.prepare("SELECT count(*) AS n FROM telemetry_events WHERE device_id LIKE '%raw-device%' OR event_data LIKE '%raw-device%'").get();
    expect(dump).toEqual({ n: 0 });
  });
});

describe('app_version and received_at', () => {
  it('stores app_version as sent, rejects one outside its characters naming the field, and stores the rest', async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const res = await post({
      events: [
        event(APP, { event_id: ids[0], app_version: '2.0.0-rc.1+45' }),
        event(APP, { event_id: ids[1] }),
        event(APP, { app_version: '1.2 beta' }),
        event(APP, { app_version: 'x'.repeat(65) }),
        event(APP, { event_id: ids[2], app_version: 'x'.repeat(64) }),
      ],
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; rejected: Array<{ index: number; reason: string; field?: string }> };
    expect(body.accepted).toBe(3);
    expect(body.rejected.map((r) => [r.index, r.reason, r.field])).toEqual([
      [2, 'invalid_event', 'app_version'],
      [3, 'invalid_event', 'app_version'],
    ]);
    const stored = t.telemetry.prepare(`SELECT app_version FROM telemetry_events WHERE event_id IN (?, ?, ?) ORDER BY id`).pluck().all(...ids.map(uuidBlob));
    expect(stored).toEqual(['2.0.0-rc.1+45', null, 'x'.repeat(64)]);
  });

  it('gives every row of one commit the same received_at: the server clock when that commit ran', async () => {
    let held = true;
    let clock = Date.parse('2026-11-28T10:00:00.000Z');
    // Every reading of the clock moves it: one value per commit shows that the writer read it once.
    const h = await startTestIngest({ apps: [{ packageId: APP }], hold: () => held, now: () => (clock += 1) });
    try {
      const at = new Date(clock).toISOString();
      const first = h.post('/v1/events', { events: [event(APP, { timestamp: at }), event(APP, { timestamp: at })] });
      const second = h.post('/v1/events', { events: [event(APP, { timestamp: at, app_version: '1.0.0' })] });
      await h.writer.when(() => h.writer.depth === 3);
      const queuedAt = clock;
      held = false;
      expect((await first).status).toBe(202);
      expect((await second).status).toBe(202);
      const rows = h.telemetry.prepare('SELECT received_at FROM telemetry_events').pluck().all() as string[];
      expect(rows).toHaveLength(3);
      expect(new Set(rows).size).toBe(1);
      expect(Date.parse(rows[0]!)).toBeGreaterThan(queuedAt);
      // A later commit reads the clock again.
      await h.post('/v1/events', { events: [event(APP, { timestamp: at })] });
      expect(new Set(h.telemetry.prepare('SELECT received_at FROM telemetry_events').pluck().all()).size).toBe(2);
    } finally {
      await h.stop();
    }
  });
});

/** An event_id as the partitions store it (16 bytes). */
const uuidBlob = (id: string | undefined) => Buffer.from(id!.replaceAll('-', ''), 'hex');

describe('POST /v1/events envelope', () => {
  const scenarios: Array<{ name: string; body?: unknown; raw?: Buffer | string; headers?: Record<string, string>; gzip?: boolean; status: number; code: string }> = [
    { name: 'invalid JSON', raw: '{"events": [', status: 400, code: 'invalid_body' },
    { name: 'a JSON array', body: [event(APP)], status: 400, code: 'invalid_body' },
    { name: 'no events array', body: { event: [] }, status: 400, code: 'invalid_body' },
    { name: 'events not an array', body: { events: { 0: event(APP) } }, status: 400, code: 'invalid_body' },
    { name: 'an empty batch', body: { events: [] }, status: 400, code: 'invalid_body' },
    { name: '1001 events', body: { events: Array.from({ length: 1001 }, () => ({})) }, status: 400, code: 'invalid_body' },
    { name: 'an unreadable sent_at', body: { sent_at: 'soon', events: [event(APP)] }, status: 400, code: 'invalid_body' },
    // Date.parse reads both; the contract wants ISO-8601 with a time zone.
    { name: 'a sent_at without a time zone', body: { sent_at: '2026-12-02T05:00:00', events: [event(APP)] }, status: 400, code: 'invalid_body' },
    { name: 'a sent_at as an HTTP date', body: { sent_at: 'Wed, 02 Dec 2026 05:00:00 GMT', events: [event(APP)] }, status: 400, code: 'invalid_body' },
    { name: 'a sent_at as a number', body: { sent_at: 1_796_000_000_000, events: [event(APP)] }, status: 400, code: 'invalid_body' },
    { name: 'text/plain', body: { events: [event(APP)] }, headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type' },
    { name: 'form data', body: { events: [event(APP)] }, headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type' },
    { name: 'br encoding', body: { events: [event(APP)] }, headers: { 'content-encoding': 'br' }, status: 400, code: 'unsupported_content_encoding' },
    { name: 'a body over 1 MiB', body: { events: [event(APP, { data: { x: 'y'.repeat(MAX_EVENTS_BODY_BYTES) } })] }, status: 413, code: 'payload_too_large' },
    { name: 'gzip over 1 MiB inflated', body: { events: [event(APP, { data: { x: 'y'.repeat(MAX_EVENTS_BODY_BYTES) } })] }, gzip: true, status: 413, code: 'payload_too_large' },
    { name: 'a gzip bomb', raw: gzipSync(Buffer.alloc(200 * 1024 * 1024, 32)), headers: { 'content-encoding': 'gzip' }, status: 413, code: 'payload_too_large' },
    { name: 'truncated gzip', raw: gzipSync(JSON.stringify({ events: [event(APP)] })).subarray(0, 40), headers: { 'content-encoding': 'gzip' }, status: 400, code: 'invalid_body' },
    { name: 'gzip header on plain JSON', raw: JSON.stringify({ events: [event(APP)] }), headers: { 'content-encoding': 'gzip' }, status: 400, code: 'invalid_body' },
  ];

  for (const s of scenarios) {
    it(`answers ${s.status} ${s.code} for ${s.name}, storing nothing`, async () => {
      const before = t.count();
      const res = await post(s.body, { ...(s.raw !== undefined && { raw: s.raw }), ...(s.headers && { headers: s.headers }), ...(s.gzip && { gzip: true }) });
      expect(res.status).toBe(s.status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(s.code);
      expect(t.count()).toBe(before);
    });
  }

  it('refuses a declared Content-Length over the limit before reading', async () => {
    const res = await t.app.request('/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(MAX_EVENTS_BODY_BYTES + 1) },
      body: '{}',
    });
    expect(res.status).toBe(413);
  });

  it('accepts gzip and a charset parameter', async () => {
    const res = await post({ events: [event(APP), event(APP)] }, { gzip: true, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ accepted: 2 });
  });

  it('accepts exactly 1000 events', async () => {
    const res = await post({ events: Array.from({ length: 1000 }, () => event(APP)) });
    expect(await res.json()).toMatchObject({ accepted: 1000, duplicates: 0, rejected: [] });
  });
});

describe('GET /openapi.json', () => {
  it('documents both batch routes and every reason code', async () => {
    const doc = (await (await t.app.request('/openapi.json')).json()) as { paths: Record<string, { post?: { description?: string } }> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/events', '/v1/crashes']));
    const text = JSON.stringify(doc);
    for (const reason of ['invalid_event', 'invalid_crash', 'unknown_app', 'app_suspended', 'timestamp_out_of_window', 'data_too_large', 'context_too_large', 'stack_trace_too_large', 'event_type_limit']) {
      expect(text).toContain(reason);
    }
  });
});
