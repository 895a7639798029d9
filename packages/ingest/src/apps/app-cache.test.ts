import { tempDir } from '@mosis/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { APP_MISS_TTL_MS } from '../limits.js';
import { event, seedPortal, startTestIngest, type TestIngest } from '../testing.js';

type Body = { accepted: number; rejected: Array<{ index: number; reason: string }> };
const send = async (t: TestIngest, events: unknown[]) => (await (await t.post('/v1/events', { events })).json()) as Body;
/** No periodic refresh within a test: what the cache knows comes from its lookups (or an explicit refresh). */
const NO_REFRESH = { APP_CACHE_REFRESH_MS: '60000' };

describe('app lookup', () => {
  const dirs: Array<() => void> = [];
  afterAll(() => dirs.forEach((d) => d()));

  it('accepts the first event of an app created the same millisecond', async () => {
    const t = await startTestIngest({ apps: [{ packageId: 'com.first.app' }], env: NO_REFRESH });
    try {
      t.portal!.prepare("INSERT INTO apps (id, developer_id, package_id, name) VALUES ('app-new', 'dev-1', 'com.new.app', 'New')").run();
      expect(await send(t, [event('com.new.app')])).toMatchObject({ accepted: 1, rejected: [] });
      expect(t.telemetry.prepare('SELECT app_id FROM telemetry_events').all()).toEqual([{ app_id: 'app-new' }]);
    } finally {
      await t.stop();
    }
  });

  it('looks up each unknown package_id once, then remembers it for a while: a flood costs no portal.db access per event', async () => {
    let clock = Date.now();
    const t = await startTestIngest({ apps: [{ packageId: 'com.real.app' }], env: NO_REFRESH, now: () => clock });
    try {
      // portal.db changed since the cache loaded, so a miss has to read the table (the costlier case).
      t.portal!.prepare("UPDATE developers SET name = 'Dev 2'").run();
      const flood = Array.from({ length: 1000 }, (_, i) => event(`com.unknown.app${i % 10}`, { timestamp: new Date(clock).toISOString() }));
      const body = await send(t, flood);
      expect(body.accepted).toBe(0);
      expect(new Set(body.rejected.map((r) => r.reason))).toEqual(new Set(['unknown_app']));
      expect(t.apps.portalLookups).toBe(10);
      await send(t, flood.slice(0, 100));
      expect(t.apps.portalLookups).toBe(10);
      // A known app costs nothing either.
      await send(t, [event('com.real.app', { timestamp: new Date(clock).toISOString() })]);
      expect(t.apps.portalLookups).toBe(10);
      expect(await (await t.app.request('/metrics')).text()).toMatch(/ingest_app_lookups_total\{service="ingest"\} 10/);

      // Past the memory's TTL an unknown id is looked up again, once.
      clock += APP_MISS_TTL_MS + 1;
      await send(t, flood.slice(0, 100).map((e) => ({ ...e, timestamp: new Date(clock).toISOString() })));
      expect(t.apps.portalLookups).toBe(20);
    } finally {
      await t.stop();
    }
  });

  it('notices a suspension, a new app and a deletion at its refresh', async () => {
    const t = await startTestIngest({ apps: [{ packageId: 'com.first.app' }], env: NO_REFRESH });
    try {
      expect((await send(t, [event('com.later.app')])).rejected[0]?.reason).toBe('unknown_app');
      t.portal!.prepare("INSERT INTO apps (id, developer_id, package_id, name) VALUES ('app-later', 'dev-1', 'com.later.app', 'Later')").run();
      // The refresh forgets remembered misses: the new app is known at once.
      t.apps.refresh();
      expect((await send(t, [event('com.later.app')])).accepted).toBe(1);
      t.portal!.prepare("UPDATE apps SET status = 'suspended' WHERE id = 'app-later'").run();
      t.apps.refresh();
      expect((await send(t, [event('com.later.app')])).rejected[0]?.reason).toBe('app_suspended');
      t.portal!.prepare("DELETE FROM apps WHERE id = 'app-later'").run();
      t.apps.refresh();
      expect((await send(t, [event('com.later.app')])).rejected[0]?.reason).toBe('unknown_app');
    } finally {
      await t.stop();
    }
  });

  it('works without portal.db (every app unknown) and picks the file up when it appears', async () => {
    const dir = tempDir('mosis-ingest-');
    dirs.push(dir.cleanup);
    const t = await startTestIngest({ dataDir: dir.path, env: NO_REFRESH });
    try {
      const res = await t.post('/v1/events', { events: [event('com.dev.app')] });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ accepted: 0, duplicates: 0, rejected: [{ index: 0, reason: 'unknown_app' }] });
      expect((await t.app.request('/readyz')).status).toBe(200);
      const portal = await seedPortal(dir.path, [{ packageId: 'com.dev.app' }]);
      t.apps.refresh();
      expect((await send(t, [event('com.dev.app')])).accepted).toBe(1);
      portal.close();
    } finally {
      await t.stop();
    }
  });

  it('keeps events of a renamed package under the same app', async () => {
    const t = await startTestIngest({ apps: [{ packageId: 'com.old.name', id: 'app-rename' }], env: NO_REFRESH });
    try {
      await t.post('/v1/events', { events: [event('com.old.name')] });
      t.portal!.prepare("UPDATE apps SET package_id = 'com.new.name' WHERE id = 'app-rename'").run();
      // Found by its new name at once; the old name is gone at the next refresh.
      expect((await send(t, [event('com.new.name')])).accepted).toBe(1);
      t.apps.refresh();
      expect((await send(t, [event('com.old.name')])).rejected[0]?.reason).toBe('unknown_app');
      expect(t.telemetry.prepare('SELECT app_id, count(*) AS n FROM telemetry_events GROUP BY app_id').all()).toEqual([{ app_id: 'app-rename', n: 2 }]);
      expect(t.telemetry.prepare('SELECT package_id FROM dim_apps').all()).toEqual([{ package_id: 'com.new.name' }]);
    } finally {
      await t.stop();
    }
  });
});
