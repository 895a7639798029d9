import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, versionBody, type TestApp } from '../test-app.js';

const ADMIN = 'admin-token-for-tests-0123456789';
let t: TestApp;
let dev: { token: string; id: string };
let appId: string;

const version = (code: number) => versionBody(code);

beforeAll(async () => {
  t = await createTestApp({ config: { ADMIN_TOKEN: ADMIN } });
  dev = await t.signup();
  appId = (await t.call('POST', '/v1/apps', { token: dev.token, body: { package_id: 'com.review.app', name: 'Reviewed' } })).body.id;
  const key = await t.signingKey(dev.token, dev.id);
  for (const code of [1, 2, 3]) {
    await t.readyVersion(dev.token, key, appId, code);
    await t.call('POST', `/v1/apps/${appId}/versions/${code}/submit`, { token: dev.token });
  }
});
afterAll(() => t.close());

const admin = (method: string, path: string, body?: unknown) => t.call(method, path, { token: ADMIN, body });

describe('admin auth', () => {
  it('answers 404 for every admin route while ADMIN_TOKEN is unset', async () => {
    const off = await createTestApp();
    try {
      const res = await off.call('GET', '/v1/admin/versions', { token: ADMIN });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    } finally {
      off.close();
    }
  });

  it.each([
    ['no token', undefined, 401],
    ['a wrong token', 'admin-token-for-tests-0123456780', 403],
    ['a prefix of the token', ADMIN.slice(0, 20), 403],
  ])('answers %s with %i', async (_n, token, status) => {
    expect((await t.call('GET', '/v1/admin/versions', { token })).status).toBe(status);
  });

  it("refuses a developer's session token", async () => {
    expect((await t.call('POST', `/v1/admin/apps/${appId}/versions/1/approve`, { token: dev.token })).status).toBe(403);
  });
});

describe('review workflow', () => {
  it('lists versions in review, oldest first', async () => {
    const res = await admin('GET', '/v1/admin/versions');
    expect(res.status).toBe(200);
    expect(res.body.items.map((v: { version_code: number }) => v.version_code)).toEqual([1, 2, 3]);
    expect(res.body.items[0]).toMatchObject({ package_id: 'com.review.app', app_name: 'Reviewed', status: 'review' });
  });

  it('approves then publishes; publishing stamps published_at and puts the app in the catalog', async () => {
    expect((await admin('POST', `/v1/admin/apps/${appId}/versions/1/publish`)).status).toBe(409); // not approved yet
    const approved = await admin('POST', `/v1/admin/apps/${appId}/versions/1/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('approved');
    expect((await t.call('GET', '/v1/catalog/apps/com.review.app')).status).toBe(404);
    const published = await admin('POST', `/v1/admin/apps/com.review.app/versions/1/publish`); // by package_id
    expect(published.status).toBe(200);
    expect(published.body.status).toBe('published');
    expect(Date.parse(published.body.published_at)).toBeGreaterThan(Date.now() - 60_000);
    expect((await t.call('GET', `/v1/apps/${appId}`, { token: dev.token })).body.status).toBe('published');
    expect((await t.call('GET', '/v1/catalog/apps/com.review.app')).status).toBe(200);
  });

  it('rejects with notes the developer can read; without notes it is a 400', async () => {
    expect((await admin('POST', `/v1/admin/apps/${appId}/versions/2/reject`, { notes: '  ' })).status).toBe(400);
    expect((await admin('POST', `/v1/admin/apps/${appId}/versions/2/reject`, {})).status).toBe(400);
    const rejected = await admin('POST', `/v1/admin/apps/${appId}/versions/2/reject`, { notes: 'crashes on start' });
    expect(rejected.status).toBe(200);
    const mine = await t.call('GET', `/v1/apps/${appId}/versions`, { token: dev.token });
    expect(mine.body.items.find((v: { version_code: number }) => v.version_code === 2)).toMatchObject({ status: 'rejected', review_notes: 'crashes on start' });
    expect((await admin('POST', `/v1/admin/apps/${appId}/versions/2/approve`)).status).toBe(409);
  });

  it.each([
    ['an unknown app', '/v1/admin/apps/com.nope.app/versions/1/approve'],
    ['an unknown version', `/v1/admin/apps/com.review.app/versions/99/approve`],
    ['a non-numeric version', `/v1/admin/apps/com.review.app/versions/abc/approve`],
  ])('answers 404 for %s', async (_n, path) => {
    expect((await admin('POST', path)).status).toBe(404);
  });

  it('suspends (out of the catalog, no new versions) and reinstates', async () => {
    const suspended = await admin('POST', `/v1/admin/apps/${appId}/suspend`, { reason: 'malware report' });
    expect(suspended.status).toBe(200);
    expect(suspended.body.status).toBe('suspended');
    expect((await admin('POST', `/v1/admin/apps/${appId}/suspend`)).status).toBe(409);
    expect((await t.call('GET', '/v1/catalog/apps/com.review.app')).status).toBe(404);
    expect((await t.call('POST', `/v1/apps/${appId}/versions`, { token: dev.token, body: version(9) })).status).toBe(409);
    const back = await admin('POST', `/v1/admin/apps/${appId}/reinstate`);
    expect(back.status).toBe(200);
    expect(back.body.status).toBe('published');
    expect((await t.call('GET', '/v1/catalog/apps/com.review.app')).status).toBe(200);
  });

  it("writes every decision to the app owner's audit trail", async () => {
    const logs = await t.call('GET', '/v1/audit-logs?limit=100', { token: dev.token });
    const actions = logs.body.items.map((l: { action: string }) => l.action);
    for (const a of ['version.approved', 'version.published', 'version.rejected', 'app.suspended', 'app.reinstated']) expect(actions).toContain(a);
    const rejection = logs.body.items.find((l: { action: string }) => l.action === 'version.rejected');
    expect(rejection.details).toMatchObject({ by: 'admin', notes: 'crashes on start', version_code: 2 });
  });
});
