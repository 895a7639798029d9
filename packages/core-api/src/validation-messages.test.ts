import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, versionBody, type TestApp } from './test-app.js';

/** What a user reads when a request is refused: plain words naming the field and the limit, never zod's own. */

/** zod's own wording, which must never reach a user. */
const RAW_ZOD = /Too small|Too big|expected|Invalid input|Invalid option|Invalid string|Invalid (email|URL|UUID|ISO)|Unrecognized key/;

let t: TestApp;
let token: string;
let appId: string;
beforeAll(async () => {
  t = await createTestApp();
  token = (await t.signup()).token;
  appId = (await t.newApp(token)).id;
});
afterAll(() => t.close());

const password = 'correct horse battery';

/** [method, path ({app}: the app's id), body (undefined for a query), the message of the 400]. */
const CASES: [method: string, path: string, body: unknown, message: string][] = [
  ['POST', '/v1/auth/register', { email: 'a@example.com', name: 'A', password: 'short' }, 'password: must be at least 8 characters'],
  ['POST', '/v1/auth/register', { email: 'a@example.com', name: 'A', password: 'p'.repeat(257) }, 'password: must be at most 256 characters'],
  ['POST', '/v1/auth/register', { email: 'not-an-email', name: 'A', password }, 'email: must be an email address'],
  ['POST', '/v1/auth/register', { email: 'b@example.com', password }, 'name: is required'],
  ['POST', '/v1/auth/register', { email: 'b@example.com', name: '  ', password }, 'name: must not be empty'],
  ['POST', '/v1/auth/register', [1, 2], 'body: must be an object'],
  ['POST', '/v1/auth/login', { email: 'a@example.com' }, 'password: is required'],
  ['POST', '/v1/auth/login', { email: 42, password }, 'email: must be a string'],
  ['POST', '/v1/api-keys', { name: 'k', permissions: [] }, 'permissions: must not be empty'],
  ['POST', '/v1/api-keys', { name: 'k', permissions: ['root'] }, 'permissions.0: must be one of: apps:read, apps:write, analytics:read, keys:write'],
  ['POST', '/v1/api-keys', { name: 'k', permissions: ['apps:read'], expires_at: 'tomorrow' }, 'expires_at: must be a date and time like 2026-11-28T10:00:00Z'],
  ['POST', '/v1/api-keys', { name: 'k', permissions: ['apps:read', 'apps:read'] }, 'permissions: must not repeat a permission'],
  ['POST', '/v1/apps', { package_id: 'com.x.y', name: 'x'.repeat(101) }, 'name: must be at most 100 characters'],
  ['POST', '/v1/apps', { package_id: 'Camera', name: 'x' }, 'package_id: must be a reverse-domain name like com.example.app (lower case)'],
  ['POST', '/v1/apps', { package_id: 'com.x.y', name: 'x', category: 'weapons' }, 'category: must be one of: communication, education, entertainment, finance, games, health, lifestyle, music, news, photography, productivity, social, tools, travel, utilities, other'],
  ['POST', '/v1/apps', { package_id: 'com.x.y', name: 'x', tags: Array(11).fill('a') }, 'tags: must have at most 10 items'],
  ['POST', '/v1/apps', { package_id: 'com.x.y', name: 'x', tags: 'a,b' }, 'tags: must be an array'],
  ['POST', '/v1/apps', { package_id: 'com.x.y', name: 'x', description: 'd'.repeat(4001) }, 'description: must be at most 4000 characters'],
  ['PATCH', '/v1/apps/{app}', { status: 'published' }, 'body: unknown field "status"'],
  ['PATCH', '/v1/apps/{app}', {}, 'body: give at least one of name, description, category, tags'],
  ['POST', '/v1/apps/{app}/versions', versionBody(1.5), 'version_code: must be an integer'],
  ['POST', '/v1/apps/{app}/versions', versionBody(0), 'version_code: must be at least 1'],
  ['POST', '/v1/apps/{app}/versions', versionBody(3e9), 'version_code: must be at most 2147483647'],
  ['POST', '/v1/apps/{app}/versions', versionBody(1, { package_url: 'ftp://x' }), 'package_url: must be an http(s) URL'],
  ['POST', '/v1/apps/{app}/versions', versionBody(1, { package_size: 0 }), 'package_size: must be at least 1'],
  ['POST', '/v1/signing-keys', { name: 'x' }, 'public_key: is required'],
  ['GET', '/v1/apps?limit=0', undefined, 'limit: must be at least 1'],
  ['GET', '/v1/apps?limit=1000', undefined, 'limit: must be at most 100'],
  ['GET', '/v1/apps?limit=abc', undefined, 'limit: must be a number'],
  ['GET', '/v1/apps/{app}/crash-groups?limit=5000', undefined, 'limit: must be at most 1000'],
  ['GET', '/v1/catalog/apps?category=zzz', undefined, 'category: must be one of: communication, education, entertainment, finance, games, health, lifestyle, music, news, photography, productivity, social, tools, travel, utilities, other'],
];

describe('validation messages', () => {
  it.each(CASES)('%s %s answers a readable 400', async (method, path, body, message) => {
    const res = await t.call(method, path.replace('{app}', appId), { token, body });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(message);
    for (const d of res.body.error.details ?? []) expect(d.message).not.toMatch(RAW_ZOD);
  });

  it('never shows zod wording, whatever JSON a client sends', async () => {
    const routes = [
      ['POST', '/v1/auth/register'],
      ['POST', '/v1/auth/login'],
      ['POST', '/v1/api-keys'],
      ['POST', '/v1/signing-keys'],
      ['POST', '/v1/apps'],
      ['PATCH', `/v1/apps/${appId}`],
      ['POST', `/v1/apps/${appId}/versions`],
    ] as const;
    const field = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 300 }), fc.integer(), fc.double());
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.dictionary(fc.constantFrom('email', 'name', 'password', 'permissions', 'expires_at', 'package_id', 'tags', 'category', 'version_code', 'package_url', 'public_key', 'x'), field),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), body, async ([method, path], b) => {
        const res = await t.call(method, path, { token, body: JSON.stringify(b), headers: { 'content-type': 'application/json' } });
        expect(res.status).toBeLessThan(500);
        if (res.status === 400) {
          expect(res.body.error.message).not.toMatch(RAW_ZOD);
          for (const d of res.body.error.details ?? []) expect(d.message).not.toMatch(RAW_ZOD);
        }
      }),
      { numRuns: 300 },
    );
  });
});
