import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, versionBody, type TestApp, type TestSigningKey } from '../test-app.js';

let t: TestApp;
let token: string;
let key: TestSigningKey;
beforeAll(async () => {
  t = await createTestApp();
  const dev = await t.signup();
  token = dev.token;
  key = await t.signingKey(token, dev.id);
});
afterAll(() => t.close());

const newApp = (extra?: Record<string, unknown>) => t.newApp(token, extra);

describe('versions', () => {
  it('creates versions with increasing codes only: a duplicate or lower code is 409', async () => {
    const app = await newApp();
    const v = await t.call('POST', `/v1/apps/${app.id}/versions`, {
      token,
      body: versionBody(10, { permissions: ['camera', 'camera', 'net.http'], min_mosis_version: '1.4.2', release_notes: 'first' }),
    });
    expect(v.status).toBe(201);
    expect(v.body).toMatchObject({ version_code: 10, status: 'draft', permissions: ['camera', 'net.http'], published_at: null });
    for (const code of [10, 9, 1]) {
      const res = await t.call('POST', `/v1/apps/${app.id}/versions`, { token, body: versionBody(code) });
      expect(res.status, `code ${code}`).toBe(409);
      expect(res.body.error.code).toBe('conflict');
    }
    expect((await t.call('POST', `/v1/apps/${app.id}/versions`, { token, body: versionBody(11) })).status).toBe(201);
  });

  it.each([
    ['a zero version_code', { version_code: 0 }],
    ['a fractional version_code', { version_code: 1.5 }],
    ['a version_code over 2^31-1', { version_code: 2 ** 31 }],
    ['a string version_code', { version_code: '3' }],
    ['an ftp package_url', { package_url: 'ftp://example.com/a.mpk' }],
    ['a package_url that is no URL', { package_url: 'not a url' }],
    ['a javascript: package_url', { package_url: 'javascript:alert(1)' }],
    ['a zero package_size', { package_size: 0 }],
    ['a package over 4 GiB', { package_size: 5 * 1024 ** 3 }],
    ['a signature with spaces', { signature: 'not base64!' }],
    ['an empty signature', { signature: '' }],
    ['a signature that is no Ed25519 signature ("abc")', { signature: 'abc' }],
    ['a 63-byte signature', { signature: Buffer.alloc(63, 1).toString('base64') }],
    ['a 65-byte signature', { signature: Buffer.alloc(65, 1).toString('base64') }],
    ['a 64-byte signature with text after it', { signature: `${Buffer.alloc(64, 1).toString('base64')}AA` }],
    ['a bad permission name', { permissions: ['Camera Access'] }],
    ['a bad min_mosis_version', { min_mosis_version: 'latest' }],
    ['an empty version_name', { version_name: ' ' }],
  ])('answers 400 for %s', async (_n, extra) => {
    const app = await newApp();
    const res = await t.call('POST', `/v1/apps/${app.id}/versions`, { token, body: versionBody(1, extra) });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_body');
  });

  it('lists versions newest first, paginated', async () => {
    const app = await newApp();
    for (const code of [1, 2, 5, 7]) await t.call('POST', `/v1/apps/${app.id}/versions`, { token, body: versionBody(code) });
    const first = await t.call('GET', `/v1/apps/${app.id}/versions?limit=3`, { token });
    expect(first.body.items.map((v: { version_code: number }) => v.version_code)).toEqual([7, 5, 2]);
    const second = await t.call('GET', `/v1/apps/${app.id}/versions?limit=3&cursor=${first.body.next_cursor}`, { token });
    expect(second.body.items.map((v: { version_code: number }) => v.version_code)).toEqual([1]);
    expect(second.body.next_cursor).toBeNull();
  });

  it('submits a draft for review once; other states and unknown codes answer 409 and 404', async () => {
    const app = await newApp();
    await t.readyVersion(token, key, app.id, 3);
    const submitted = await t.call('POST', `/v1/apps/${app.id}/versions/3/submit`, { token });
    expect(submitted.status).toBe(200);
    expect(submitted.body.status).toBe('review');
    const again = await t.call('POST', `/v1/apps/${app.id}/versions/3/submit`, { token });
    expect(again.status).toBe(409);
    for (const code of ['4', 'abc', '-1', '1e3', '99999999999999999999']) {
      expect((await t.call('POST', `/v1/apps/${app.id}/versions/${code}/submit`, { token })).status, code).toBe(404);
    }
  });
});
