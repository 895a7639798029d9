import { DATABASES, migrateUp, openDatabase, type DB } from '@mosis/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, versionBody, type TestApp, type TestSigningKey } from './test-app.js';

/**
 * Every list is in a total order that matches creation order, also for rows created in the same millisecond,
 * and a walk page by page meets every row exactly once. Every cursor a client can send is a 400 or a page.
 */

const ADMIN = 'lists-admin-token-0000000000';
/** Rows per list: several pages of PAGE. */
const ROWS = 12;
const PAGE = 5;
/** Every row of a list gets this created_at: the same millisecond, the case a random id used to order. */
const SAME_MS = '2026-11-28T10:00:00.000Z';

let telemetry: DB;
let t: TestApp;
let dev: { token: string; id: string };
const created = { apps: [] as string[], keys: [] as string[], signing: [] as string[], versions: [] as string[], queue: [] as string[], catalog: [] as string[] };
let versionedApp: string;

beforeAll(async () => {
  t = await createTestApp({ config: { ADMIN_TOKEN: ADMIN } });
  telemetry = openDatabase(t.telemetryPath);
  await migrateUp(telemetry, DATABASES.telemetry.migrations);
  dev = await t.signup();
  const token = dev.token;
  let key: TestSigningKey | undefined;
  for (let i = 0; i < ROWS; i++) {
    created.apps.push((await t.newApp(token)).id);
    created.keys.push((await t.call('POST', '/v1/api-keys', { token, body: { name: `k${i}`, permissions: ['apps:read'] } })).body.id);
    const signing = await t.signingKey(token, dev.id, `s${i}`);
    key ??= signing;
    created.signing.push(signing.id);
  }
  versionedApp = created.apps[0]!;
  for (let code = 1; code <= ROWS; code++) {
    created.versions.push((await t.call('POST', `/v1/apps/${versionedApp}/versions`, { token, body: versionBody(code) })).body.id);
  }
  // The review queue spans apps: one submitted version in each, in this order.
  for (const appId of created.apps.slice(1)) {
    await t.readyVersion(token, key!, appId, 1);
    const v = await t.call('POST', `/v1/apps/${appId}/versions/1/submit`, { token });
    expect(v.status).toBe(200);
    created.queue.push(v.body.id);
  }
  t.portal.prepare("UPDATE apps SET status = 'published' WHERE developer_id = ?").run(dev.id);
  created.catalog = [...created.apps];
  for (const table of ['apps', 'api_keys', 'signing_keys', 'app_versions', 'audit_logs']) {
    t.portal.prepare(`UPDATE ${table} SET created_at = ?`).run(SAME_MS);
  }
  telemetry.prepare('INSERT INTO dim_apps (app_id, package_id) VALUES (?, ?)').run(versionedApp, 'com.test.lists');
});
afterAll(() => {
  telemetry.close();
  t.close();
});

/** Walks a list page by page; fails on a page that is not a 200. */
async function walk(path: string, token?: string): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res = await t.call('GET', `${path}${sep}limit=${PAGE}${cursor ? `&cursor=${cursor}` : ''}`, { token });
    expect(res.status, `${path} page ${pages + 1}: ${res.text}`).toBe(200);
    ids.push(...res.body.items.map((i: { id?: string; package_id?: string }) => i.id ?? i.package_id));
    cursor = res.body.next_cursor;
    pages++;
  } while (cursor && pages < 100);
  return { ids, pages };
}

describe('creation-ordered lists', () => {
  it.each([
    ['/v1/apps', 'apps'],
    ['/v1/api-keys', 'keys'],
    ['/v1/signing-keys', 'signing'],
  ] as const)('%s lists rows of one millisecond newest first, each once across pages', async (path, kind) => {
    const { ids, pages } = await walk(path, dev.token);
    expect(ids).toEqual([...created[kind]].reverse());
    expect(pages).toBe(Math.ceil(ROWS / PAGE));
  });

  it("an app's versions list newest (highest version_code) first, each once", async () => {
    const { ids } = await walk(`/v1/apps/${versionedApp}/versions`, dev.token);
    expect(ids).toEqual([...created.versions].reverse());
  });

  it('the audit trail lists every mutation newest first, each once', async () => {
    const { ids } = await walk('/v1/audit-logs', dev.token);
    const all = t.portal.prepare('SELECT id FROM audit_logs WHERE developer_id = ? ORDER BY id DESC').pluck().all(dev.id);
    expect(ids).toEqual(all);
    expect(ids.length).toBeGreaterThan(ROWS * 4);
  });

  it('the catalog browses newest first, each once', async () => {
    const { ids } = await walk('/v1/catalog/apps');
    const packages = t.portal.prepare('SELECT package_id FROM apps WHERE id = ?').pluck();
    expect(ids).toEqual([...created.catalog].reverse().map((id) => packages.get(id)));
  });

  it('the review queue lists versions of one millisecond oldest first', async () => {
    const res = await t.call('GET', '/v1/admin/versions?limit=100', { token: ADMIN });
    expect(res.status).toBe(200);
    expect(res.body.items.map((v: { id: string }) => v.id)).toEqual(created.queue);
  });
});

/** base64url of a JSON value, as our cursors are made. */
const cursorOf = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');

const NASTY_CURSORS: [name: string, cursor: string][] = [
  ['garbage', 'garbage'],
  ['not base64 at all', '!!!***'],
  ['a NUL byte', '%00'],
  ['base64 of no JSON', Buffer.from('{"a":').toString('base64url')],
  ['null', cursorOf(null)],
  ['an empty object', cursorOf({})],
  ['an empty array', cursorOf([])],
  ['a string', cursorOf('x')],
  ['a boolean', cursorOf(true)],
  ['the old (created_at, id) cursor', cursorOf(['2026-11-28T10:00:00.000Z', '00000000-0000-4000-8000-000000000000'])],
  ['a huge negative timestamp', cursorOf([-9e15, 1])],
  ['a huge timestamp', cursorOf([9e15, 1])],
  ['a timestamp past any date', cursorOf([8.64e15 + 1, 1])],
  ['1e308', cursorOf([1e308, 1e308])],
  ['a fraction', cursorOf([1.5, 2.5])],
  ['a negative number', cursorOf(-1)],
  ['zero', cursorOf(0)],
  ['a huge number', cursorOf(1e300)],
  ['an unsafe integer', cursorOf(2 ** 60)],
  ['NaN as text', cursorOf('NaN')],
  ['nulls', cursorOf([null, null])],
  ['a long tuple', cursorOf([1, 2, 3, 4, 5])],
  ['nested arrays', cursorOf(JSON.parse('['.repeat(150) + ']'.repeat(150)))],
  ['a catalog cursor with a negative seq', cursorOf({ s: -5 })],
  ['a catalog offset past the maximum', cursorOf({ o: 1e9 })],
  ['both catalog shapes', cursorOf({ s: 1, o: 1 })],
  ['a very long string', 'A'.repeat(5000)],
  ['a long JSON string within the length limit', cursorOf('x'.repeat(300))],
];

const PAGINATED = [
  '/v1/apps',
  '/v1/api-keys',
  '/v1/signing-keys',
  '/v1/audit-logs',
  '/v1/apps/{app}/versions',
  '/v1/apps/{app}/crashes',
  '/v1/apps/{app}/events',
  '/v1/catalog/apps',
  '/v1/catalog/apps?q=app',
];

describe('cursors', () => {
  it.each(PAGINATED)('%s answers every cursor with a page or a 400 invalid_query', async (route) => {
    for (const [name, cursor] of NASTY_CURSORS) {
      const path = route.replace('{app}', versionedApp);
      const res = await t.call('GET', `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}`, { token: dev.token });
      expect([200, 400], `${name}: ${res.status} ${res.text}`).toContain(res.status);
      if (res.status === 400) expect(res.body.error.code, name).toBe('invalid_query');
    }
  });

  it.each([
    ['/v1/apps/{app}/crashes', [-9e15, 1]],
    ['/v1/apps/{app}/crashes', [1.5, 1]],
    ['/v1/apps/{app}/events', [-9e15, 1]],
    ['/v1/apps/{app}/events', [1.5, 1]],
    ['/v1/apps/{app}/events', [1, 0]],
    ['/v1/apps', ['2026-11-28T10:00:00.000Z', 'x']],
    ['/v1/api-keys', -1],
    ['/v1/audit-logs', 2 ** 60],
    ['/v1/apps/{app}/versions', 0],
  ])('%s refuses the cursor %j with a 400 naming the cursor', async (route, value) => {
    const res = await t.call('GET', `${route.replace('{app}', versionedApp)}?cursor=${cursorOf(value)}`, { token: dev.token });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_query', message: expect.stringMatching(/^cursor: /) });
  });
});
