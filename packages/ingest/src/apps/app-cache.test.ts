import { tempDir } from '@mosis/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { event, seedPortal, startTestIngest } from '../testing.js';

const waitFor = async (check: () => Promise<boolean>, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('app lookup', () => {
  const dirs: Array<() => void> = [];
  afterAll(() => dirs.forEach((d) => d()));

  it('notices a new app and a suspension within seconds', async () => {
    const t = await startTestIngest({ apps: [{ packageId: 'com.first.app' }] });
    try {
      const send = async (app: string) => ((await (await t.post('/v1/events', { events: [event(app)] })).json()) as { accepted: number; rejected: Array<{ reason: string }> });
      expect((await send('com.later.app')).rejected[0]?.reason).toBe('unknown_app');
      t.portal!.prepare("INSERT INTO apps (id, developer_id, package_id, name) VALUES ('app-later', 'dev-1', 'com.later.app', 'Later')").run();
      await waitFor(async () => (await send('com.later.app')).accepted === 1);
      t.portal!.prepare("UPDATE apps SET status = 'suspended' WHERE id = 'app-later'").run();
      await waitFor(async () => (await send('com.later.app')).rejected[0]?.reason === 'app_suspended');
      t.portal!.prepare("DELETE FROM apps WHERE id = 'app-later'").run();
      await waitFor(async () => (await send('com.later.app')).rejected[0]?.reason === 'unknown_app');
    } finally {
      await t.stop();
    }
  });

  it('works without portal.db (every app unknown) and picks the file up when it appears', async () => {
    const dir = tempDir('mosis-ingest-');
    dirs.push(dir.cleanup);
    const t = await startTestIngest({ dataDir: dir.path });
    try {
      const res = await t.post('/v1/events', { events: [event('com.dev.app')] });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ accepted: 0, duplicates: 0, rejected: [{ index: 0, reason: 'unknown_app' }] });
      expect((await t.app.request('/readyz')).status).toBe(200);
      const portal = await seedPortal(dir.path, [{ packageId: 'com.dev.app' }]);
      await waitFor(async () => ((await (await t.post('/v1/events', { events: [event('com.dev.app')] })).json()) as { accepted: number }).accepted === 1);
      portal.close();
    } finally {
      await t.stop();
    }
  });

  it('keeps events of a renamed package under the same app', async () => {
    const t = await startTestIngest({ apps: [{ packageId: 'com.old.name', id: 'app-rename' }] });
    try {
      await t.post('/v1/events', { events: [event('com.old.name')] });
      t.portal!.prepare("UPDATE apps SET package_id = 'com.new.name' WHERE id = 'app-rename'").run();
      await waitFor(async () => ((await (await t.post('/v1/events', { events: [event('com.new.name')] })).json()) as { accepted: number }).accepted === 1);
      expect(t.telemetry.prepare('SELECT app_id, count(*) AS n FROM telemetry_events GROUP BY app_id').all()).toEqual([{ app_id: 'app-rename', n: 2 }]);
      expect(t.telemetry.prepare('SELECT package_id FROM dim_apps').all()).toEqual([{ package_id: 'com.new.name' }]);
    } finally {
      await t.stop();
    }
  });
});
