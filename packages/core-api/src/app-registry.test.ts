import { createMigratedPgDatabase, describePg } from '@mosis/ingest/testing-pg';
import { freePort, openDatabase, spawnNode, tempDir, waitForHttp, type ChildHandle } from '@mosis/shared';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { setSuspended } from './review/workflow.js';
import { createTestApp, type TestApp } from './test-app.js';

/**
 * Ingest away from portal.db: the built ingest service in its own process, on a DATA_DIR with no portal.db
 * at all and TELEMETRY_DATABASE_URL set, learns apps from what the core API publishes into the telemetry
 * PostgreSQL: a new app's first event, sent the moment its creation is answered, is accepted; a new app
 * and a suspension reach it within a second (NOTIFY), a change made behind the core API's back (another
 * process on portal.db) within seconds, and one written without a notification by the poll.
 */

const INGEST_MAIN = fileURLToPath(new URL('../../ingest/dist/main.js', import.meta.url));
const ADMIN = 'admin-token-registry-test-0123456789';
/** LISTEN applies a change within this (API: "within seconds"; the design: a second). */
const NOTIFIED_MS = 1_000;

describePg('ingest learns apps from the core API through PostgreSQL, without portal.db', () => {
  let pg: Awaited<ReturnType<typeof createMigratedPgDatabase>>;
  let t: TestApp;
  let token: string;
  const ingestDir = tempDir('mosis-ingest-no-portal-');
  let ingest: ChildHandle & { url: string };

  beforeAll(async () => {
    pg = await createMigratedPgDatabase();
    t = await createTestApp({ appRegistryUrl: pg.url, config: { ADMIN_TOKEN: ADMIN } });
    token = (await t.signup()).token;
    const port = await freePort();
    const handle = spawnNode(INGEST_MAIN, [], {
      DATA_DIR: ingestDir.path,
      INGEST_PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      TELEMETRY_DATABASE_URL: pg.url,
      INGEST_FLUSH_INTERVAL_MS: '1',
    });
    ingest = { ...handle, url: `http://127.0.0.1:${port}` };
    await waitForHttp(`${ingest.url}/readyz`, 20_000);
  });
  afterAll(async () => {
    ingest?.child.kill('SIGTERM');
    await ingest?.exited;
    await t?.appRegistry?.stop();
    t?.close();
    await pg?.close();
    ingestDir.cleanup();
  });

  const send = async (packageId: string, timestamp = new Date().toISOString()) => {
    const res = await fetch(`${ingest.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ event_id: randomUUID(), app: packageId, device_id: 'phone-1', event_type: 'app_open', timestamp }] }),
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; rejected: Array<{ reason: string }> };
    return body.accepted === 1 ? 'accepted' : body.rejected[0]!.reason;
  };
  const metric = async (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'm').exec(await (await fetch(`${ingest.url}/metrics`)).text())?.[1]);
  const appsKnown = async () => Number(/^ingest_apps_known\{[^}]*\} (\d+)$/m.exec(await (await fetch(`${ingest.url}/metrics`)).text())?.[1]);

  /** Repeats `probe` until it answers `want`; answers the milliseconds that took (fails past `withinMs`). */
  async function until<T>(probe: () => Promise<T>, want: T, withinMs: number): Promise<number> {
    const start = Date.now();
    for (;;) {
      const got = await probe();
      if (got === want) return Date.now() - start;
      if (Date.now() - start > withinMs) throw new Error(`still ${String(got)} (not ${String(want)}) after ${withinMs} ms`);
      await new Promise((r) => setImmediate(r));
    }
  }

  it('accepts a new app\'s first event sent the moment its creation is answered, stamped that millisecond', async () => {
    const created = await t.call('POST', '/v1/apps', { token, body: { package_id: 'com.registry.first', name: 'First' } });
    expect(created.status).toBe(201);
    expect(await send('com.registry.first', created.body.created_at)).toBe('accepted');
    expect(existsSync(`${ingestDir.path}/portal.db`)).toBe(false);
    expect(await send('com.registry.never')).toBe('unknown_app');
  });

  it('reads a request\'s unknown package ids once, in one query, and then remembers them for a while', async () => {
    const before = await metric('ingest_app_lookups_total');
    const flood = Array.from({ length: 200 }, (_, i) => ({ event_id: randomUUID(), app: `com.flood.n${i % 50}`, device_id: 'phone-1', event_type: 'app_open', timestamp: new Date().toISOString() }));
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${ingest.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: flood }) });
      const body = (await res.json()) as { rejected: Array<{ reason: string }> };
      expect(body.rejected.map((r) => r.reason)).toEqual(flood.map(() => 'unknown_app'));
    }
    // 3 requests of 200 events naming 50 unknown apps: one lookup (the others within APP_MISS_TTL_MS).
    expect((await metric('ingest_app_lookups_total')) - before).toBe(1);
  });

  it('learns a new app by notification, with no event for it, within a second', async () => {
    const before = await appsKnown();
    await t.newApp(token);
    expect(await until(appsKnown, before + 1, NOTIFIED_MS)).toBeLessThanOrEqual(NOTIFIED_MS);
  });

  it('applies a suspension and a reinstatement within a second, and a deletion', async () => {
    const app = await t.newApp(token);
    expect(await send(app.package_id)).toBe('accepted');
    expect((await t.call('POST', `/v1/admin/apps/${app.id}/suspend`, { token: ADMIN })).status).toBe(200);
    expect(await until(() => send(app.package_id), 'app_suspended', NOTIFIED_MS)).toBeLessThanOrEqual(NOTIFIED_MS);
    expect((await t.call('POST', `/v1/admin/apps/${app.id}/reinstate`, { token: ADMIN })).status).toBe(200);
    await until(() => send(app.package_id), 'accepted', NOTIFIED_MS);
    expect((await t.call('DELETE', `/v1/apps/${app.id}`, { token })).status).toBe(204);
    await until(() => send(app.package_id), 'unknown_app', NOTIFIED_MS);
  });

  it('publishes a suspension made by another process on portal.db (ops review suspend) within seconds', async () => {
    const app = await t.newApp(token);
    expect(await send(app.package_id)).toBe('accepted');
    const ops = openDatabase(t.portal.name);
    try {
      setSuspended(ops, app.id, true, { via: 'ops', ip: null, userAgent: null });
    } finally {
      ops.close();
    }
    await until(() => send(app.package_id), 'app_suspended', 5_000);
  });

  it('catches up by polling a change whose notification never came', async () => {
    const app = await t.newApp(token);
    expect(await send(app.package_id)).toBe('accepted');
    // Written as a publication would be, but without NOTIFY: only the poll (every 3 s) can find it.
    await pg.pool.query("UPDATE app_registry SET status = 'suspended', version = nextval('app_registry_version') WHERE app_id = $1", [app.id]);
    await until(() => send(app.package_id), 'app_suspended', 6_000);
  });
});

describePg('the built core API with TELEMETRY_DATABASE_URL', () => {
  const CORE_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
  let pg: Awaited<ReturnType<typeof createMigratedPgDatabase>>;
  const coreDir = tempDir('mosis-core-pg-');
  const ingestDir = tempDir('mosis-ingest-pg-');
  const procs: Array<ChildHandle & { url: string }> = [];
  const start = async (main: string, portVar: string, dataDir: string) => {
    const port = await freePort();
    const h = { ...spawnNode(main, [], { DATA_DIR: dataDir, [portVar]: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', TELEMETRY_DATABASE_URL: pg.url }), url: `http://127.0.0.1:${port}` };
    procs.push(h);
    await waitForHttp(`${h.url}/readyz`, 20_000);
    return h;
  };
  beforeAll(async () => {
    pg = await createMigratedPgDatabase();
  });
  afterAll(async () => {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    await pg?.close();
    coreDir.cleanup();
    ingestDir.cleanup();
  });

  it('publishes a new app that ingest, on another DATA_DIR without portal.db, accepts events for at once', async () => {
    const core = await start(CORE_MAIN, 'CORE_PORT', coreDir.path);
    const ingest = await start(INGEST_MAIN, 'INGEST_PORT', ingestDir.path);
    const json = { 'content-type': 'application/json' };
    const reg = await fetch(`${core.url}/v1/auth/register`, { method: 'POST', headers: json, body: JSON.stringify({ email: 'pg@example.com', name: 'PG', password: 'correct horse battery' }) });
    expect(reg.status).toBe(201);
    const { token } = (await reg.json()) as { token: string };
    const created = await fetch(`${core.url}/v1/apps`, { method: 'POST', headers: { ...json, authorization: `Bearer ${token}` }, body: JSON.stringify({ package_id: 'com.pg.main', name: 'Main' }) });
    expect(created.status).toBe(201);
    const app = (await created.json()) as { id: string };
    const res = await fetch(`${ingest.url}/v1/events`, { method: 'POST', headers: json, body: JSON.stringify({ events: [{ app: 'com.pg.main', device_id: 'd1', event_type: 'app_open', timestamp: new Date().toISOString() }] }) });
    expect(await res.json()).toMatchObject({ accepted: 1 });
    expect((await pg.pool.query('SELECT app_id, status FROM app_registry')).rows).toEqual([{ app_id: app.id, status: 'draft' }]);
    expect(existsSync(`${ingestDir.path}/portal.db`)).toBe(false);
    // The core API reads analytics from PostgreSQL: empty there (ingest still writes its own telemetry.db on this branch), not a 500.
    const summary = await fetch(`${core.url}/v1/apps/${app.id}/analytics/summary?from=2026-11-01&to=2026-11-02`, { headers: { authorization: `Bearer ${token}` } });
    expect(summary.status).toBe(200);
    expect((await fetch(`${core.url}/readyz`)).status).toBe(200);
    // Its connections (pools keep them 30 s): the analytics reads, the publisher, and ingest's LISTEN.
    const names = (await pg.pool.query<{ n: string }>('SELECT DISTINCT application_name AS n FROM pg_stat_activity WHERE datname = current_database()')).rows.map((r) => r.n);
    expect(names).toEqual(expect.arrayContaining(['mosis-core-reads', 'mosis-core-apps', 'mosis-ingest-apps']));
  });
});
