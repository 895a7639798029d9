import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, DUMMY_SIGNATURE, type TestApp, type TestSigningKey } from '../test-app.js';

const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
let t: TestApp;
let token: string;
let key: TestSigningKey;

const version = (code: number) => ({
  version_code: code,
  version_name: `${code}.0`,
  package_url: `https://cdn.example.com/${code}.mpk`,
  package_size: 1000,
  signature: DUMMY_SIGNATURE,
});

/** Creates an app and, unless `publish` is false, takes a version through review to published. */
async function app(packageId: string, body: Record<string, unknown>, publish = true) {
  const created = await t.call('POST', '/v1/apps', { token, body: { package_id: packageId, ...body } });
  expect(created.status).toBe(201);
  if (publish) {
    const id = created.body.id;
    await t.readyVersion(token, key, id, 1, undefined, { version_name: '1.0' });
    expect((await t.call('POST', `/v1/apps/${id}/versions/1/submit`, { token })).status).toBe(200);
    for (const step of ['approve', 'publish']) {
      expect((await t.call('POST', `/v1/admin/apps/${id}/versions/1/${step}`, { token: ADMIN_TOKEN })).status).toBe(200);
    }
  }
  return created.body;
}

beforeAll(async () => {
  t = await createTestApp({ config: { ADMIN_TOKEN } });
  const dev = await t.signup('studio@example.com', 'Studio Nine');
  token = dev.token;
  key = await t.signingKey(token, dev.id);
  await app('com.example.camera', { name: 'Camera', description: 'Take photos and videos', category: 'photography', tags: ['photo', 'camera'] });
  await app('com.example.gallery', { name: 'Gallery', description: 'Browse your camera roll', category: 'photography', tags: ['photo'] });
  await app('com.example.notes', { name: 'Notes', description: 'Write things down. Supports "quotes" and AND/OR words', category: 'productivity', tags: ['writing'] });
  await app('com.example.cafe', { name: 'Café Finder', description: 'Find coffee nearby ☕', category: 'travel', tags: ['coffee', 'maps'] });
  await app('com.example.secret', { name: 'Camera Secret', description: 'unpublished camera app' }, false);
  for (let i = 0; i < 5; i++) await app(`com.example.game${i}`, { name: `Game ${i}`, description: 'a puzzle game', category: 'games', tags: ['puzzle'] });
});
afterAll(() => t.close());

const search = async (params: Record<string, string>) => {
  const res = await t.call('GET', `/v1/catalog/apps?${new URLSearchParams(params)}`);
  return res;
};
const names = (res: { body: { items: { name: string }[] } }) => res.body.items.map((a) => a.name);

describe('GET /v1/catalog/apps', () => {
  it('lists published apps only, newest first, with the latest published version, without auth', async () => {
    const res = await search({ limit: '100' });
    expect(res.status).toBe(200);
    expect(names(res)).not.toContain('Camera Secret');
    expect(names(res)[0]).toBe('Game 4');
    expect(res.body.items).toHaveLength(9);
    const camera = res.body.items.find((a: { package_id: string }) => a.package_id === 'com.example.camera');
    expect(camera).toMatchObject({ developer: { name: 'Studio Nine' }, latest_version: { version_code: 1, version_name: '1.0' } });
    expect(camera.latest_version.published_at).toBeTruthy();
    expect(camera.id).toBeUndefined();
  });

  it('ranks a name match above a description match (bm25 weights)', async () => {
    const res = await search({ q: 'camera' });
    expect(names(res)).toEqual(['Camera', 'Gallery']);
  });

  it.each([
    ['cam', ['Camera', 'Gallery']],
    ['Cam', ['Camera', 'Gallery']],
    ['phot', ['Camera', 'Gallery']],
    ['take pho', ['Camera']],
    ['cafe', ['Café Finder']],
    ['CAFÉ', ['Café Finder']],
    ['coffee', ['Café Finder']],
    ['puzzle', ['Game 0', 'Game 1', 'Game 2', 'Game 3', 'Game 4']],
    ['"quotes"', ['Notes']],
    ['AND', ['Camera', 'Notes']], // the word "and", not the operator
    ['writing', ['Notes']],
  ])('finds what a person means by %j', async (q, expected) => {
    const res = await search({ q, limit: '100' });
    expect(res.status).toBe(200);
    expect([...names(res)].sort()).toEqual([...expected].sort());
  });

  const nasty = [
    '"',
    '""',
    '"unbalanced',
    '*',
    '**',
    'cam*',
    '*cam',
    'AND',
    'OR',
    'NOT',
    'AND OR NOT',
    'camera AND',
    'NEAR(',
    'NEAR(camera photo, 2)',
    'name:camera',
    '{name description}: camera',
    '^camera',
    '-',
    '-camera',
    '--',
    'camera -photo',
    '(',
    ')',
    '()',
    ':',
    '+',
    '\\',
    "'",
    "'; DROP TABLE apps; --",
    "' OR 1=1 --",
    '" OR "1"="1',
    '1) UNION SELECT password_hash FROM developers --',
    '\u0000',
    '\u200b',
    '🎉',
    '📷 camera',
    'カメラ',
    'καμερα',
    'камера',
    'مرحبا',
    'e\u0301',
    '%',
    '_',
    '%25',
    'x'.repeat(10_240),
    'camera '.repeat(1_500),
    Array.from({ length: 2_000 }, (_, i) => `w${i}`).join(' '),
    '🎉'.repeat(2_500),
  ];
  it.each(nasty.map((q) => [q.length > 40 ? `${q.slice(0, 20)}… (${q.length} chars)` : JSON.stringify(q), q]))(
    'answers 200 with a list (never a 500) for q=%s',
    async (_label, q) => {
      const res = await search({ q });
      expect(res.status).toBe(200);
      expect(Array.isArray(res.body.items)).toBe(true);
      for (const item of res.body.items) expect(item.name).not.toBe('Camera Secret');
    },
  );

  it('keeps the tables intact after injection attempts', async () => {
    await search({ q: "'; DROP TABLE apps; --" });
    expect((t.portal.prepare('SELECT count(*) AS n FROM apps').get() as { n: number }).n).toBe(10);
    // '-' is text, not FTS5's NOT: both words must match.
    expect([...names(await search({ q: 'camera -photo' }))].sort()).toEqual(['Camera', 'Gallery']);
  });

  it('filters by category and tag, alone and with a query', async () => {
    expect([...names(await search({ category: 'photography' }))].sort()).toEqual(['Camera', 'Gallery']);
    expect([...names(await search({ tag: 'camera' }))]).toEqual(['Camera']);
    expect([...names(await search({ tag: 'PHOTO', q: 'roll' }))]).toEqual(['Gallery']);
    expect(names(await search({ category: 'games', q: 'camera' }))).toEqual([]);
    expect(names(await search({ tag: 'nonexistent' }))).toEqual([]);
    const bad = await search({ category: 'weapons' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_query');
  });

  it('pages through browse and search results, each app once', async () => {
    for (const params of [{ category: 'games' }, { q: 'puzzle' }] as Record<string, string>[]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { status: number; body: { items: { package_id: string }[]; next_cursor: string | null } } = await search({
          ...params,
          limit: '2',
          ...(cursor ? { cursor } : {}),
        });
        expect(res.status).toBe(200);
        seen.push(...res.body.items.map((a) => a.package_id));
        cursor = res.body.next_cursor;
      } while (cursor);
      expect(seen).toHaveLength(5);
      expect(new Set(seen).size).toBe(5);
    }
  });

  it.each(['garbage', 'eyJvIjotMX0', 'eyJzIjoiYSJ9'])('answers 400 invalid_query for the cursor %s', async (cursor) => {
    const res = await search({ cursor });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_query');
  });

  it('refuses a browse cursor on a search and the other way round', async () => {
    const browse = await search({ limit: '1' });
    expect((await search({ q: 'puzzle', cursor: browse.body.next_cursor })).status).toBe(400);
    const ranked = await search({ q: 'puzzle', limit: '1' });
    expect((await search({ cursor: ranked.body.next_cursor })).status).toBe(400);
  });
});

describe('GET /v1/catalog/apps/{package_id}', () => {
  it('answers a published app with its latest published version', async () => {
    const res = await t.call('GET', '/v1/catalog/apps/com.example.camera');
    expect(res.status).toBe(200);
    // The developer's package_url is not what devices get: the catalog serves the uploaded, verified bytes.
    const url = 'http://localhost/v1/catalog/apps/com.example.camera/versions/1/package';
    expect(res.body).toMatchObject({
      package_id: 'com.example.camera',
      name: 'Camera',
      latest_version: { version_code: 1, package_url: url, package: { url, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), signing_key: { fingerprint: key.fingerprint, public_key: key.publicPem } } },
    });
  });

  it.each(['com.example.secret', 'com.example.missing', "x' OR '1'='1", '%E2%98%95'])('answers 404 for %s', async (pkg) => {
    const res = await t.call('GET', `/v1/catalog/apps/${pkg}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('keeps showing the previous published version while a newer one is only a draft', async () => {
    const [camera] = (await t.call('GET', '/v1/apps?limit=100', { token })).body.items.filter((a: { package_id: string }) => a.package_id === 'com.example.camera');
    await t.call('POST', `/v1/apps/${camera.id}/versions`, { token, body: version(2) });
    expect((await t.call('GET', '/v1/catalog/apps/com.example.camera')).body.latest_version.version_code).toBe(1);
  });
});
