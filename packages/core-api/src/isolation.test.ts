import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, DUMMY_SIGNATURE, versionBody, type TestApp } from './test-app.js';

/**
 * Two developers, each with an app, a version, an API key and a signing key. Whatever B sends for A's
 * resources, route by route, answers exactly what a nonexistent id answers (404), and A's data is unchanged.
 */

interface Dev {
  session: string;
  key: string;
  appId: string;
  apiKeyId: string;
  signingKeyId: string;
}

let t: TestApp;
let a: Dev;
let b: Dev;

async function setup(name: string, packageId: string): Promise<Dev> {
  const { token, id } = await t.signup(`${name}@example.com`, name);
  const apiKey = (await t.call('POST', '/v1/api-keys', { token, body: { name: 'all', permissions: ['apps:read', 'apps:write', 'analytics:read', 'keys:write'] } })).body;
  const signingKey = await t.signingKey(token, id, 'k');
  const signingKeyId = signingKey.id;
  const appId = (await t.call('POST', '/v1/apps', { token, body: { package_id: packageId, name: `${name} app` } })).body.id;
  await t.readyVersion(token, signingKey, appId, 1);
  expect((await t.call('POST', `/v1/apps/${appId}/versions`, { token, body: versionBody(3) })).status).toBe(201);
  return { session: token, key: apiKey.key, appId, apiKeyId: apiKey.id, signingKeyId };
}

beforeAll(async () => {
  t = await createTestApp();
  a = await setup('alice', 'com.alice.app');
  b = await setup('bob', 'com.bob.app');
});
afterAll(() => t.close());

const MISSING = '00000000-0000-4000-8000-000000000000';
const version2 = versionBody(2);
const range = 'from=2026-11-01&to=2026-11-28';
/** A well-formed tail position (an empty one: everything stored is after it). */
const HEAD = Buffer.from('{}').toString('base64url');

/** Every route that takes an id, with the id of A's resource put in by `route(id)`. */
const ROUTES: [method: string, route: (ids: Dev) => string, body?: unknown, raw?: Uint8Array][] = [
  ['GET', (d) => `/v1/apps/${d.appId}`],
  ['PATCH', (d) => `/v1/apps/${d.appId}`, { name: 'taken over' }],
  ['DELETE', (d) => `/v1/apps/${d.appId}`],
  ['POST', (d) => `/v1/apps/${d.appId}/versions`, version2],
  ['GET', (d) => `/v1/apps/${d.appId}/versions`],
  ['POST', (d) => `/v1/apps/${d.appId}/versions/1/submit`],
  ['PATCH', (d) => `/v1/apps/${d.appId}/versions/3`, { signature: DUMMY_SIGNATURE }],
  ['DELETE', (d) => `/v1/apps/${d.appId}/versions/3`],
  ['PUT', (d) => `/v1/apps/${d.appId}/versions/3/package`, undefined, Buffer.from('not yours')],
  ['GET', (d) => `/v1/apps/${d.appId}/analytics/daily?${range}`],
  ['GET', (d) => `/v1/apps/${d.appId}/crash-groups?${range}`],
  ['GET', (d) => `/v1/apps/${d.appId}/crashes`],
  ['GET', (d) => `/v1/apps/${d.appId}/events`],
  ['GET', (d) => `/v1/apps/${d.appId}/events?after=${HEAD}`],
  ['GET', (d) => `/v1/apps/${d.appId}/analytics/active-devices?${range}&interval=week`],
  ['GET', (d) => `/v1/apps/${d.appId}/analytics/breakdown?${range}&by=app_version`],
  ['GET', (d) => `/v1/apps/${d.appId}/analytics/breakdown?${range}&by=data.screen`],
  ['GET', (d) => `/v1/apps/${d.appId}/analytics/summary?${range}`],
  ['DELETE', (d) => `/v1/api-keys/${d.apiKeyId}`],
  ['DELETE', (d) => `/v1/signing-keys/${d.signingKeyId}`],
];
const missing: Dev = { session: '', key: '', appId: MISSING, apiKeyId: MISSING, signingKeyId: MISSING };

describe('two developers cannot touch each other', () => {
  for (const [method, route, body, raw] of ROUTES) {
    for (const credential of ['session', 'key'] as const) {
      it(`${method} ${route({ appId: '{app}', apiKeyId: '{key}', signingKeyId: '{signing-key}' } as Dev)} with B's ${credential}: 404 like a missing id`, async () => {
        const token = b[credential];
        const theirs = await t.call(method, route(a), { token, body, raw });
        const none = await t.call(method, route(missing), { token, body, raw });
        expect(theirs.status).toBe(404);
        expect(theirs.body).toEqual(none.body);
        expect(theirs.body.error.code).toBe('not_found');
      });
    }
  }

  it.each(['/v1/apps', '/v1/api-keys', '/v1/signing-keys', '/v1/audit-logs'])("B's %s lists none of A's records", async (path) => {
    const res = await t.call('GET', `${path}?limit=100`, { token: b.session });
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    const text = JSON.stringify(res.body);
    for (const id of [a.appId, a.apiKeyId, a.signingKeyId]) expect(text).not.toContain(id);
    expect(text).not.toContain('alice');
  });

  it("leaves A's app, version, API key and signing key exactly as they were", async () => {
    const app = await t.call('GET', `/v1/apps/${a.appId}`, { token: a.session });
    expect(app.status).toBe(200);
    expect(app.body).toMatchObject({ name: 'alice app', latest_version: { version_code: 3, status: 'draft', package: null } });
    const versions = (await t.call('GET', `/v1/apps/${a.appId}/versions`, { token: a.key })).body.items;
    expect(versions).toHaveLength(2);
    expect(versions[1]).toMatchObject({ version_code: 1, status: 'draft', package: { signing_key_id: a.signingKeyId } });
    expect((await t.call('GET', '/v1/me', { token: a.key })).status).toBe(200);
    const keys = await t.call('GET', '/v1/signing-keys', { token: a.session });
    expect(keys.body.items[0]).toMatchObject({ id: a.signingKeyId, active: true });
    const bobsTrail = (await t.call('GET', '/v1/audit-logs?limit=100', { token: b.session })).body.items;
    const alicesTrail = (await t.call('GET', '/v1/audit-logs?limit=100', { token: a.session })).body.items;
    expect(alicesTrail.map((l: { action: string }) => l.action)).not.toContain('app.updated');
    expect(bobsTrail.every((l: { resource_id: string }) => ![a.appId, a.apiKeyId, a.signingKeyId].includes(l.resource_id))).toBe(true);
  });
});
