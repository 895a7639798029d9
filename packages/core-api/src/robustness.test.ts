import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './test-app.js';

/** Whatever a client sends, the answer is never a 500: odd paths, odd queries, any JSON body. */

const ADMIN = 'robustness-admin-token-000000';
let t: TestApp;
let token: string;
let appId: string;
beforeAll(async () => {
  t = await createTestApp({ config: { ADMIN_TOKEN: ADMIN } });
  token = (await t.signup()).token;
  appId = (await t.call('POST', '/v1/apps', { token, body: { package_id: 'com.robust.app', name: 'R' } })).body.id;
});
afterAll(() => t.close());

const ODD_PATHS = [
  '/v1/apps/%E0%A4%A',
  '/v1/apps/%',
  '/v1/apps/%00',
  '/v1/catalog/apps/%FF%FE',
  '/v1/catalog/apps?q=%E0%A4%A',
  '/v1/catalog/apps?q=%',
  '/v1/apps?limit=1e2',
  '/v1/apps?limit=-0',
  '/v1/apps?cursor=%00',
  '/v1/apps?limit=5&limit=6',
  '/v1/apps/x/versions/%FF/submit',
  '/v1/admin/apps/%/versions/1/approve',
  '/v1/nowhere',
];

describe('odd requests', () => {
  it.each(ODD_PATHS)('%s answers a 4xx or 2xx for every method', async (path) => {
    for (const method of ['GET', 'POST', 'PATCH', 'DELETE']) {
      const res = await t.call(method, path, { token: path.includes('admin') ? ADMIN : token, body: method === 'GET' ? undefined : {} });
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
      if (res.status >= 400) expect(res.body.error.code, `${method} ${path}`).toMatch(/^[a-z_]+$/);
    }
  });

  it('answers any JSON body on every JSON route with a 2xx or 4xx', async () => {
    const routes = [
      ['POST', '/v1/auth/register'],
      ['POST', '/v1/auth/login'],
      ['POST', '/v1/api-keys'],
      ['POST', '/v1/signing-keys'],
      ['POST', '/v1/apps'],
      ['PATCH', `/v1/apps/${appId}`],
      ['POST', `/v1/apps/${appId}/versions`],
      ['POST', `/v1/admin/apps/${appId}/versions/1/reject`],
    ] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.jsonValue(), async ([method, path], body) => {
        const res = await t.call(method, path, {
          token: path.includes('admin') ? ADMIN : token,
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        });
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
  });
});
