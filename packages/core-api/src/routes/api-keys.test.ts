import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../test-app.js';

let t: TestApp;
let session: string;
beforeAll(async () => {
  t = await createTestApp();
  session = (await t.signup()).token;
});
afterAll(() => t.close());

const createKey = (token: string, body: unknown) => t.call('POST', '/v1/api-keys', { token, body });

describe('POST /v1/api-keys', () => {
  it('answers the full key once and stores only its SHA-256', async () => {
    const res = await createKey(session, { name: 'ci', permissions: ['apps:read', 'apps:write'] });
    expect(res.status).toBe(201);
    expect(res.body.key).toMatch(/^mk_[\w-]{43}$/);
    expect(res.body.prefix).toBe(res.body.key.slice(0, 11));
    expect(res.body.permissions).toEqual(['apps:read', 'apps:write']);
    const row = t.portal.prepare('SELECT key_hash FROM api_keys WHERE id = ?').get(res.body.id) as { key_hash: string };
    expect(row.key_hash).toBe(createHash('sha256').update(res.body.key).digest('hex'));
    const list = await t.call('GET', '/v1/api-keys', { token: session });
    expect(list.text).not.toContain(res.body.key);
    expect(list.body.items[0]).toMatchObject({ id: res.body.id, prefix: res.body.prefix });
    expect(list.body.items[0].key).toBeUndefined();
  });

  it.each([
    ['no permissions', { name: 'k', permissions: [] }],
    ['an unknown permission', { name: 'k', permissions: ['root'] }],
    ['a repeated permission', { name: 'k', permissions: ['apps:read', 'apps:read'] }],
    ['an expiry in the past', { name: 'k', permissions: ['apps:read'], expires_at: '2001-01-01T00:00:00Z' }],
    ['an expiry that is no date', { name: 'k', permissions: ['apps:read'], expires_at: 'tomorrow' }],
    ['no name', { permissions: ['apps:read'] }],
  ])('answers 400 for %s', async (_n, body) => {
    const res = await createKey(session, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_body');
  });

  it('lets a key with keys:write create keys, but never with permissions it lacks', async () => {
    const admin = (await createKey(session, { name: 'keys', permissions: ['keys:write', 'apps:read'] })).body.key;
    expect((await createKey(admin, { name: 'sub', permissions: ['apps:read'] })).status).toBe(201);
    const escalate = await createKey(admin, { name: 'sub', permissions: ['apps:write'] });
    expect(escalate.status).toBe(403);
    expect(escalate.body.error.code).toBe('forbidden');
  });

  it('lets an expiring key create only keys that expire no later than itself; a session or a non-expiring key has no such limit', async () => {
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    const keyExpiry = at(3_600_000);
    const expiring = (await createKey(session, { name: 'exp', permissions: ['keys:write', 'apps:read'], expires_at: keyExpiry })).body;
    for (const [name, body] of [
      ['no expiry', { name: 'forever', permissions: ['apps:read'] }],
      ['a later expiry', { name: 'later', permissions: ['apps:read'], expires_at: at(7_200_000) }],
    ] as const) {
      const res = await createKey(expiring.key, body);
      expect(res.status, name).toBe(403);
      expect(res.body.error.code, name).toBe('forbidden');
      expect(res.body.error.message, name).toContain(`expires at ${keyExpiry}`);
    }
    const sooner = await createKey(expiring.key, { name: 'sooner', permissions: ['apps:read'], expires_at: at(1_800_000) });
    expect(sooner.status).toBe(201);
    const same = await createKey(expiring.key, { name: 'same', permissions: ['apps:read'], expires_at: keyExpiry });
    expect(same.status).toBe(201);
    expect(same.body.expires_at).toBe(keyExpiry);
    const lasting = (await createKey(session, { name: 'lasting', permissions: ['keys:write', 'apps:read'] })).body;
    expect((await createKey(lasting.key, { name: 'forever', permissions: ['apps:read'] })).status).toBe(201);
    expect((await createKey(session, { name: 'forever', permissions: ['apps:read'] })).status).toBe(201);
  });

  it('answers 403 to a key without keys:write', async () => {
    const reader = (await createKey(session, { name: 'r', permissions: ['apps:read'] })).body.key;
    for (const [method, path, body] of [
      ['POST', '/v1/api-keys', { name: 'x', permissions: ['apps:read'] }],
      ['GET', '/v1/api-keys', undefined],
      ['DELETE', '/v1/api-keys/whatever', undefined],
    ] as const) {
      const res = await t.call(method, path, { token: reader, body });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
  });
});

describe('using an API key', () => {
  it('authenticates, and writes last_used_at at most once a minute', async () => {
    const created = (await createKey(session, { name: 'use', permissions: ['apps:read'] })).body;
    expect(created.last_used_at).toBeNull();
    expect((await t.call('GET', '/v1/me', { token: created.key })).status).toBe(200);
    const first = (t.portal.prepare('SELECT last_used_at FROM api_keys WHERE id = ?').get(created.id) as { last_used_at: string }).last_used_at;
    expect(first).toBeTruthy();
    const changesBefore = (t.portal.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    await t.call('GET', '/v1/me', { token: created.key });
    const changesAfter = (t.portal.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    expect(changesAfter).toBe(changesBefore); // no write for a key used within the minute
    // Once the stored value is older than a minute, the next use refreshes it.
    t.portal.prepare("UPDATE api_keys SET last_used_at = '2020-01-01T00:00:00.000Z' WHERE id = ?").run(created.id);
    await t.call('GET', '/v1/me', { token: created.key });
    const later = (t.portal.prepare('SELECT last_used_at FROM api_keys WHERE id = ?').get(created.id) as { last_used_at: string }).last_used_at;
    expect(later > '2020-01-01T00:00:00.000Z').toBe(true);
  });

  it('refuses an expired key with 401', async () => {
    const created = (await createKey(session, { name: 'exp', permissions: ['apps:read'], expires_at: new Date(Date.now() + 60_000).toISOString() })).body;
    expect((await t.call('GET', '/v1/me', { token: created.key })).status).toBe(200);
    t.portal.prepare("UPDATE api_keys SET expires_at = '2001-01-01T00:00:00.000Z' WHERE id = ?").run(created.id);
    const res = await t.call('GET', '/v1/me', { token: created.key });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/expired/);
  });

  it('refuses a revoked key with 401; revoking twice is 404', async () => {
    const created = (await createKey(session, { name: 'rev', permissions: ['apps:read'] })).body;
    expect((await t.call('DELETE', `/v1/api-keys/${created.id}`, { token: session })).status).toBe(204);
    expect((await t.call('GET', '/v1/me', { token: created.key })).status).toBe(401);
    expect((await t.call('DELETE', `/v1/api-keys/${created.id}`, { token: session })).status).toBe(404);
    const listed = (await t.call('GET', '/v1/api-keys?limit=100', { token: session })).body.items.find((k: { id: string }) => k.id === created.id);
    expect(listed.revoked_at).toBeTruthy();
  });

  it('lets a keys:write key revoke only keys whose permissions it has; a session revokes any', async () => {
    const broad = (await createKey(session, { name: 'broad', permissions: ['apps:read', 'apps:write'] })).body;
    const narrow = (await createKey(session, { name: 'narrow', permissions: ['keys:write', 'apps:read'] })).body;
    const refused = await t.call('DELETE', `/v1/api-keys/${broad.id}`, { token: narrow.key });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('apps:write') });
    expect((await t.call('GET', '/v1/me', { token: broad.key })).status).toBe(200);
    const reader = (await createKey(session, { name: 'reader', permissions: ['apps:read'] })).body;
    expect((await t.call('DELETE', `/v1/api-keys/${reader.id}`, { token: narrow.key })).status).toBe(204);
    expect((await t.call('DELETE', `/v1/api-keys/${broad.id}`, { token: session })).status).toBe(204);
    expect((await t.call('DELETE', `/v1/api-keys/${narrow.id}`, { token: narrow.key })).status).toBe(204);
  });

  it('cannot log out (that ends sessions): 403', async () => {
    const created = (await createKey(session, { name: 'lo', permissions: ['apps:read'] })).body;
    expect((await t.call('POST', '/v1/auth/logout', { token: created.key })).status).toBe(403);
  });
});

describe('GET /v1/api-keys pagination', () => {
  it('walks every key exactly once across pages, newest first', async () => {
    const fresh = await t.signup();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await createKey(fresh.token, { name: `k${i}`, permissions: ['apps:read'] })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: { items: { id: string }[]; next_cursor: string | null } } = await t.call(
        'GET',
        `/v1/api-keys?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        { token: fresh.token },
      );
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((k) => k.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it.each(['limit=0', 'limit=101', 'limit=abc', 'cursor=garbage', 'cursor=WzEsMl0'])('answers 400 invalid_query for %s', async (q) => {
    const res = await t.call('GET', `/v1/api-keys?${q}`, { token: session });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_query');
  });
});
