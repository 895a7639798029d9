import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setSuspended } from '../review/workflow.js';
import { createTestApp, versionBody, type TestApp } from '../test-app.js';

let t: TestApp;
let token: string;
beforeAll(async () => {
  t = await createTestApp();
  token = (await t.signup()).token;
});
afterAll(() => t.close());

const newApp = (extra?: Record<string, unknown>) => t.newApp(token, extra);

describe('apps', () => {
  it('creates an app with normalised tags and answers it with no version yet', async () => {
    const res = await t.call('POST', '/v1/apps', {
      token,
      body: { package_id: 'com.example.camera', name: 'Camera', description: 'Take photos', category: 'photography', tags: ['Photo', 'camera', 'photo'] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ package_id: 'com.example.camera', name: 'Camera', category: 'photography', tags: ['photo', 'camera'], status: 'draft', latest_version: null });
  });

  it('answers 409 when the package_id is taken (even by the same developer)', async () => {
    const res = await t.call('POST', '/v1/apps', { token, body: { package_id: 'com.example.camera', name: 'Again' } });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
  });

  it.each([
    ['a one-segment package_id', { package_id: 'camera', name: 'x' }],
    ['an upper-case package_id', { package_id: 'com.Example.app', name: 'x' }],
    ['a package_id segment starting with a digit', { package_id: 'com.1example.app', name: 'x' }],
    ['a package_id with a dash', { package_id: 'com.ex-ample.app', name: 'x' }],
    ['a package_id with an empty segment', { package_id: 'com..app', name: 'x' }],
    ['a package_id over 255 characters', { package_id: `com.${['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(60)).join('.')}`, name: 'x' }],
    ['a package_id with a 64-character segment', { package_id: `com.${'a'.repeat(64)}`, name: 'x' }],
    ['no name', { package_id: 'com.example.noname' }],
    ['an unknown category', { package_id: 'com.example.cat', name: 'x', category: 'weapons' }],
    ['tags that are not an array', { package_id: 'com.example.tags', name: 'x', tags: 'a,b' }],
    ['a tag over 32 characters', { package_id: 'com.example.tags', name: 'x', tags: ['t'.repeat(33)] }],
    ['eleven tags', { package_id: 'com.example.tags', name: 'x', tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }],
    ['a tag with punctuation', { package_id: 'com.example.tags', name: 'x', tags: ['"drop table'] }],
    ['a description over 4000 characters', { package_id: 'com.example.desc', name: 'x', description: 'd'.repeat(4001) }],
  ])('answers 400 invalid_body for %s', async (_n, body) => {
    const res = await t.call('POST', '/v1/apps', { token, body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_body');
  });

  it('answers 415 for a body that is not JSON and 400 for no body at all', async () => {
    const text = await t.call('POST', '/v1/apps', { token, body: '{"package_id":"com.text.app","name":"x"}', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
    const none = await t.call('POST', '/v1/apps', { token });
    expect(none.status).toBe(400);
    expect(none.body.error.code).toBe('invalid_body');
    const charset = await t.call('POST', '/v1/apps', { token, body: { package_id: 'com.charset.app', name: 'x' }, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(charset.status).toBe(201);
  });

  it('gets, patches and deletes an app; the delete takes its versions along', async () => {
    const app = await newApp({ tags: ['a'] });
    expect((await t.call('POST', `/v1/apps/${app.id}/versions`, { token, body: versionBody(1) })).status).toBe(201);
    const got = await t.call('GET', `/v1/apps/${app.id}`, { token });
    expect(got.status).toBe(200);
    expect(got.body.latest_version.version_code).toBe(1);

    const patched = await t.call('PATCH', `/v1/apps/${app.id}`, { token, body: { name: 'Renamed', category: 'tools', description: null } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Renamed', category: 'tools', description: null, tags: ['a'], package_id: app.package_id });
    expect(patched.body.updated_at >= app.updated_at).toBe(true);

    expect((await t.call('DELETE', `/v1/apps/${app.id}`, { token })).status).toBe(204);
    expect((await t.call('GET', `/v1/apps/${app.id}`, { token })).status).toBe(404);
    expect(t.portal.prepare('SELECT count(*) AS n FROM app_versions WHERE app_id = ?').get(app.id)).toEqual({ n: 0 });
    expect((await t.call('DELETE', `/v1/apps/${app.id}`, { token })).status).toBe(404);
  });

  it('keeps a deleted app\'s package_id for its developer: another developer gets 409, the same one may create it again', async () => {
    const app = await newApp({ package_id: 'com.reserved.app' });
    expect((await t.call('DELETE', `/v1/apps/${app.id}`, { token })).status).toBe(204);
    expect(t.portal.prepare('SELECT count(*) FROM apps WHERE package_id = ?').pluck().get('com.reserved.app')).toBe(0);
    const stranger = await t.signup();
    const taken = await t.call('POST', '/v1/apps', { token: stranger.token, body: { package_id: 'com.reserved.app', name: 'Mine now' } });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatchObject({ code: 'conflict', message: 'package_id is already taken' });
    const again = await t.call('POST', '/v1/apps', { token, body: { package_id: 'com.reserved.app', name: 'Back' } });
    expect(again.status).toBe(201);
    expect((await t.call('DELETE', `/v1/apps/${again.body.id}`, { token })).status).toBe(204);
    expect((await t.call('POST', '/v1/apps', { token: stranger.token, body: { package_id: 'com.reserved.app', name: 'x' } })).status).toBe(409);
  });

  it('refuses to delete a suspended app (409), whose package_id then stays taken', async () => {
    const app = await newApp();
    setSuspended(t.portal, app.id, true, { via: 'ops', ip: null, userAgent: null }, 'malware report');
    const res = await t.call('DELETE', `/v1/apps/${app.id}`, { token });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/suspended/) });
    expect((await t.call('GET', `/v1/apps/${app.id}`, { token })).body.status).toBe('suspended');
    const stranger = await t.signup();
    expect((await t.call('POST', '/v1/apps', { token: stranger.token, body: { package_id: app.package_id, name: 'x' } })).status).toBe(409);
  });

  it.each([
    ['an empty patch', {}],
    ['a package_id change', { package_id: 'com.other.app' }],
    ['a status change', { status: 'published' }],
    ['an empty name', { name: '' }],
  ])('answers 400 to %s', async (_n, body) => {
    const app = await newApp();
    const res = await t.call('PATCH', `/v1/apps/${app.id}`, { token, body });
    expect(res.status).toBe(400);
  });

  it.each(['does-not-exist', '00000000-0000-0000-0000-000000000000', "1' OR '1'='1", '%F0%9F%92%A5', 'x'.repeat(5000)])(
    'answers 404 not_found for the app id %s',
    async (id) => {
      const res = await t.call('GET', `/v1/apps/${encodeURIComponent(id)}`, { token });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    },
  );

  it('lists apps newest first across pages, each exactly once', async () => {
    const dev = await t.signup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await t.call('POST', '/v1/apps', { token: dev.token, body: { package_id: `org.pages.app${i}`, name: `P${i}` } })).body.id);
    }
    const first = await t.call('GET', '/v1/apps?limit=2', { token: dev.token });
    const second = await t.call('GET', `/v1/apps?limit=2&cursor=${first.body.next_cursor}`, { token: dev.token });
    const third = await t.call('GET', `/v1/apps?limit=2&cursor=${second.body.next_cursor}`, { token: dev.token });
    expect(third.body.next_cursor).toBeNull();
    expect([...first.body.items, ...second.body.items, ...third.body.items].map((a: { id: string }) => a.id)).toEqual(ids.reverse());
  });

  it('enforces permissions: apps:read may read but not write', async () => {
    const reader = (await t.call('POST', '/v1/api-keys', { token, body: { name: 'r', permissions: ['apps:read'] } })).body.key;
    const app = await newApp();
    expect((await t.call('GET', `/v1/apps/${app.id}`, { token: reader })).status).toBe(200);
    expect((await t.call('GET', '/v1/apps', { token: reader })).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/v1/apps', { package_id: 'com.reader.app', name: 'x' }],
      ['PATCH', `/v1/apps/${app.id}`, { name: 'x' }],
      ['DELETE', `/v1/apps/${app.id}`, undefined],
      ['POST', `/v1/apps/${app.id}/versions`, versionBody(1)],
      ['POST', `/v1/apps/${app.id}/versions/1/submit`, undefined],
    ] as const) {
      const res = await t.call(method, path, { token: reader, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    const writer = (await t.call('POST', '/v1/api-keys', { token, body: { name: 'w', permissions: ['apps:write'] } })).body.key;
    expect((await t.call('GET', '/v1/apps', { token: writer })).status).toBe(403);
    expect((await t.call('PATCH', `/v1/apps/${app.id}`, { token: writer, body: { name: 'ok' } })).status).toBe(200);
  });
});
