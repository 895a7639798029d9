import { tempDir } from '@mosis/shared';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { crash, event, startTestIngest } from '../testing.js';

const APP = 'com.dev.app';

describe('idempotency', () => {
  const dir = tempDir('mosis-ingest-');
  afterAll(() => dir.cleanup());

  it('stores a retried event and crash once, also when the retry comes after a restart', async () => {
    const e = event(APP);
    const c = crash(APP);
    const first = await startTestIngest({ dataDir: dir.path, apps: [{ packageId: APP }] });
    expect(await (await first.post('/v1/events', { events: [e] })).json()).toMatchObject({ accepted: 1 });
    expect(await (await first.post('/v1/crashes', { crashes: [c] })).json()).toMatchObject({ accepted: 1 });
    await first.stop();

    const second = await startTestIngest({ dataDir: dir.path });
    try {
      expect(await (await second.post('/v1/events', { events: [e, event(APP)] })).json()).toEqual({ accepted: 1, duplicates: 1, rejected: [] });
      expect(await (await second.post('/v1/crashes', { crashes: [c] })).json()).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
      expect(second.count()).toBe(2);
      expect(second.count('crash_reports')).toBe(1);
    } finally {
      await second.stop();
    }
  });

  it('finds a retry across a month boundary when its corrected timestamp moved to the other month', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }] });
    try {
      const now = new Date();
      const boundary = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
      const id = randomUUID();
      // First attempt: the device clock is right; the event is 10 minutes before the month starts.
      const ts = boundary - 10 * 60_000;
      const e = event(APP, { event_id: id, timestamp: new Date(ts).toISOString() });
      expect(await (await t.post('/v1/events', { sent_at: now.toISOString(), events: [e] })).json()).toMatchObject({ accepted: 1 });
      // Retry: the device clock was corrected by 20 minutes meanwhile, so the event now lands after the boundary.
      const retry = await t.post('/v1/events', { sent_at: new Date(Date.now() - 20 * 60_000).toISOString(), events: [e] });
      expect(await retry.json()).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
      expect(t.count()).toBe(1);

      // And the other way round: first after the boundary, retry before it.
      const id2 = randomUUID();
      const e2 = event(APP, { event_id: id2, timestamp: new Date(boundary + 5 * 60_000).toISOString() });
      expect(await (await t.post('/v1/events', { sent_at: new Date().toISOString(), events: [e2] })).json()).toMatchObject({ accepted: 1 });
      const retry2 = await t.post('/v1/events', { sent_at: new Date(Date.now() + 30 * 60_000).toISOString(), events: [e2] });
      expect(await retry2.json()).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
      expect(t.telemetry.prepare('SELECT count(*) AS n FROM telemetry_partitions WHERE kind = ?').get('events')).toEqual({ n: 2 });
    } finally {
      await t.stop();
    }
  });

  it('finds a retry whose corrected timestamp crossed midnight, and one moved by most of a day', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }] });
    try {
      const midnight = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const e = event(APP, { timestamp: new Date(midnight - 5 * 60_000).toISOString() });
      expect(await (await t.post('/v1/events', { events: [e] })).json()).toMatchObject({ accepted: 1 });
      const shifted = await t.post('/v1/events', { sent_at: new Date(Date.now() - 10 * 60_000).toISOString(), events: [e] });
      expect(await shifted.json()).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
      const farShifted = await t.post('/v1/events', { sent_at: new Date(Date.now() - 20 * 3_600_000).toISOString(), events: [e] });
      expect(await farShifted.json()).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
      expect(t.count()).toBe(1);
    } finally {
      await t.stop();
    }
  });

  it('finds a retry in a day that had no rows of that device when first checked', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }] });
    try {
      const midnight = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const device = { device_id: 'device-late' };
      // A: yesterday 23:55; checking its neighbours finds no row of this device today.
      const a = event(APP, { ...device, timestamp: new Date(midnight - 5 * 60_000).toISOString() });
      expect(await (await t.post('/v1/events', { events: [a] })).json()).toMatchObject({ accepted: 1 });
      // B: today 00:10, the device's first row today.
      const b = event(APP, { ...device, timestamp: new Date(midnight + 10 * 60_000).toISOString() });
      expect(await (await t.post('/v1/events', { events: [b] })).json()).toMatchObject({ accepted: 1 });
      // B again, its corrected timestamp now yesterday 23:50: found in today.
      const retry = await t.post('/v1/events', { sent_at: new Date(Date.now() + 20 * 60_000).toISOString(), events: [b] });
      expect(await retry.json()).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
      expect(t.count()).toBe(2);
    } finally {
      await t.stop();
    }
  });

  it('stores the same event_id twice in one request once, whichever UTC days its copies fall in', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }] });
    try {
      const midnight = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const id = randomUUID();
      const at = (ms: number) => event(APP, { event_id: id, timestamp: new Date(ms).toISOString() });
      const res = await t.post('/v1/events', { events: [at(midnight - 100), at(midnight + 100), at(midnight - 3 * 86_400_000), event(APP)] });
      expect(await res.json()).toEqual({ accepted: 2, duplicates: 2, rejected: [] });
      expect(t.count()).toBe(2);
    } finally {
      await t.stop();
    }
  });

  it('stores the same event_id from requests committed together once, whichever UTC days its copies fall in', async () => {
    let held = true;
    const t = await startTestIngest({ apps: [{ packageId: APP }], hold: () => held });
    try {
      const midnight = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const id = randomUUID();
      // Across midnight, and days apart (further than the neighbour-day lookup of retries reaches).
      const times = [midnight - 100, midnight + 100, midnight - 3 * 86_400_000];
      const sends = times.map((ms) => t.post('/v1/events', { events: [event(APP, { event_id: id, timestamp: new Date(ms).toISOString() })] }));
      await t.writer.when(() => t.writer.depth === 3 && t.writer.holding);
      held = false;
      const bodies = (await Promise.all(sends.map(async (r) => (await r).json()))) as Array<{ accepted: number; duplicates: number }>;
      expect(bodies.reduce((n, b) => n + b.accepted, 0)).toBe(1);
      expect(bodies.reduce((n, b) => n + b.duplicates, 0)).toBe(2);
      expect(t.count()).toBe(1);
    } finally {
      await t.stop();
    }
  });

  it('scopes crash_id to (app, device): one app\'s crash never hides another\'s, also across a month edge', async () => {
    const OTHER = 'com.other.app';
    const t = await startTestIngest({ apps: [{ packageId: APP }, { packageId: OTHER }] });
    try {
      const id = randomUUID();
      const same = await t.post('/v1/crashes', {
        crashes: [crash(APP, { crash_id: id, device_id: 'd1' }), crash(OTHER, { crash_id: id, device_id: 'd1' }), crash(APP, { crash_id: id, device_id: 'd2' })],
      });
      expect(await same.json()).toEqual({ accepted: 3, duplicates: 0, rejected: [] });
      const retry = await t.post('/v1/crashes', { crashes: [crash(APP, { crash_id: id, device_id: 'd1' })] });
      expect(await retry.json()).toEqual({ accepted: 0, duplicates: 1, rejected: [] });

      // Across a month edge: APP's crash 10 minutes before the month starts; OTHER's crash with that id
      // (same device id) lands after it, in the next partition, where the neighbour check looks.
      const now = new Date();
      const boundary = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
      const id2 = randomUUID();
      const before = crash(APP, { crash_id: id2, device_id: 'd1', timestamp: new Date(boundary - 10 * 60_000).toISOString() });
      expect(await (await t.post('/v1/crashes', { sent_at: now.toISOString(), crashes: [before] })).json()).toMatchObject({ accepted: 1 });
      // The device clock was 20 minutes fast: corrected, these land 10 minutes after the boundary.
      const shifted = () => new Date(Date.now() - 20 * 60_000).toISOString();
      const other = crash(OTHER, { ...before, app: OTHER, crash_id: id2 });
      expect(await (await t.post('/v1/crashes', { sent_at: shifted(), crashes: [other] })).json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
      expect(await (await t.post('/v1/crashes', { sent_at: shifted(), crashes: [before] })).json()).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
      expect(t.count('crash_reports')).toBe(5);
    } finally {
      await t.stop();
    }
  });

  it('keeps one row per id under many concurrent retries', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }] });
    try {
      const events = Array.from({ length: 50 }, () => event(APP));
      const results = await Promise.all(Array.from({ length: 20 }, () => t.post('/v1/events', { events }).then((r) => r.json() as Promise<{ accepted: number; duplicates: number }>)));
      expect(results.reduce((n, r) => n + r.accepted, 0)).toBe(50);
      expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(19 * 50);
      expect(t.count()).toBe(50);
    } finally {
      await t.stop();
    }
  });
});
