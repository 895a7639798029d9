import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ed25519KeyPair, signPackage, type TestApp } from '../test-app.js';
import { startTestTelemetry } from '../test-telemetry.js';
import { pageText, TestBrowser } from './testing.js';

const ADMIN_TOKEN = 'operator-token-for-console-tests';
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ config: { ADMIN_TOKEN } });
});
afterAll(() => {
  t.close();
});

/** The first match of `re` in the page (its first group), or fail. */
function grab(html: string, re: RegExp): string {
  const m = re.exec(html);
  if (!m) throw new Error(`no ${re} in page`);
  return m[1]!;
}

async function newApp(b: TestBrowser, packageId = `com.console.p${Date.now()}${Math.floor(Math.random() * 1e6)}`): Promise<string> {
  const res = await b.post('/console/apps', { package_id: packageId, name: 'Console App', category: 'tools', tags: 'one, two' });
  expect(res.status).toBe(303);
  return grab(res.location!, /\/console\/apps\/([^/?]+)/);
}

describe('apps', () => {
  it("creates, lists and edits apps; the API's refusals are shown in words with its status", async () => {
    const b = new TestBrowser(t.app);
    await b.signUp();
    const id = await newApp(b, 'com.console.camera');
    const list = await b.get('/console/apps');
    expect(pageText(list.text)).toContain('com.console.camera');

    const bad = await b.post('/console/apps', { package_id: 'Not A Package', name: 'X' });
    expect(bad.status).toBe(400);
    expect(pageText(bad.text)).toContain('must be a reverse-domain name like com.example.app');
    // What was typed is kept.
    expect(bad.text).toContain('value="Not A Package"');
    const taken = await b.post('/console/apps', { package_id: 'com.console.camera', name: 'Again' });
    expect(taken.status).toBe(409);
    expect(pageText(taken.text)).toContain('package_id is already taken');

    const saved = await b.post(`/console/apps/${id}/edit`, { name: 'Camera Pro', description: 'Better', category: 'photography', tags: 'photo' });
    expect(saved.status).toBe(303);
    const api = await t.call('GET', `/v1/apps/${id}`, { token: b.cookies.get('mosis_session')! });
    expect(api.body).toMatchObject({ name: 'Camera Pro', description: 'Better', category: 'photography', tags: ['photo'] });
    const invalid = await b.post(`/console/apps/${id}/edit`, { name: '', description: '', category: '', tags: '' });
    expect(invalid.status).toBe(400);
    expect(pageText(invalid.text)).toMatch(/name: /);
  });

  it("another developer's app is the API's 404, as a page", async () => {
    const owner = new TestBrowser(t.app);
    await owner.signUp();
    const id = await newApp(owner);
    const other = new TestBrowser(t.app);
    await other.signUp();
    for (const path of ['', '/live', '/crashes', '/versions', '/edit']) {
      const res = await other.get(`/console/apps/${id}${path}`);
      expect(res.status).toBe(404);
      expect(pageText(res.text)).toContain('app not found');
    }
    const api = await other.api('GET', `/v1/apps/${id}`);
    expect(api.status).toBe(404);
  });
});

describe('keys', () => {
  it('shows a new API key once, then only its prefix; the key works', async () => {
    const b = new TestBrowser(t.app);
    await b.signUp();
    await b.get('/console/keys');
    const res = await b.post('/console/keys', { name: 'ci', permissions: ['apps:read', 'analytics:read'] });
    expect(res.status).toBe(201);
    const key = grab(res.text, /data-secret[^>]*>(mk_[A-Za-z0-9_-]+)</);
    expect((await t.call('GET', '/v1/apps', { token: key })).status).toBe(200);
    const again = await b.get('/console/keys');
    expect(again.text).not.toContain(key);
    expect(again.text).toContain(`${key.slice(0, 11)}…`);
    const none = await b.post('/console/keys', { name: 'nothing' });
    expect(none.status).toBe(400);
    expect(pageText(none.text)).toContain('permissions');
    const keyId = grab(again.text, /data-key="([^"]+)"/);
    expect((await b.post(`/console/keys/${keyId}/revoke`, {})).status).toBe(303);
    expect((await t.call('GET', '/v1/apps', { token: key })).status).toBe(401);
  });

  it('adds a signing key with its proof; the page says how to make it with the developer id filled in', async () => {
    const b = new TestBrowser(t.app);
    await b.signUp();
    const page = await b.get('/console/signing-keys');
    const me = await t.call('GET', '/v1/me', { token: b.cookies.get('mosis_session')! });
    expect(pageText(page.text)).toContain(`mosis-signing-key:${me.body.id}`);
    expect(pageText(page.text)).toContain('openssl pkeyutl -sign -inkey signing.key -rawin -in proof.txt -out proof.sig');
    const pair = ed25519KeyPair(me.body.id);
    const wrong = ed25519KeyPair('someone-else');
    const refused = await b.post('/console/signing-keys', { name: 'release', public_key: pair.publicPem, proof: wrong.proof });
    expect(refused.status).toBe(400);
    expect(pageText(refused.text)).toMatch(/proof: /);
    const added = await b.post('/console/signing-keys', { name: 'release', public_key: pair.publicPem, proof: pair.proof });
    expect(added.status).toBe(303);
    const listed = await b.get('/console/signing-keys');
    expect(listed.text).toContain('data-signing-key=');
  });
});

describe('versions and review', () => {
  it('create → upload (proxy) → signature verified → submit → operator approves and publishes → catalog', async () => {
    const b = new TestBrowser(t.app);
    await b.signUp();
    const me = await t.call('GET', '/v1/me', { token: b.cookies.get('mosis_session')! });
    const pair = ed25519KeyPair(me.body.id);
    await b.get('/console/signing-keys');
    expect((await b.post('/console/signing-keys', { name: 'release', public_key: pair.publicPem, proof: pair.proof })).status).toBe(303);
    const packageId = `com.console.pub${Date.now()}`;
    const id = await newApp(b, packageId);
    const bytes = Buffer.from(`the package of ${packageId}`);
    await b.get(`/console/apps/${id}/versions`);
    const created = await b.post(`/console/apps/${id}/versions`, { version_code: '1', version_name: '1.0.0', package_size: String(bytes.length), signature: signPackage(pair.privateKey, bytes) });
    expect(created.status).toBe(303);
    const versionPage = `/console/apps/${id}/versions/1`;
    let v = await b.get(versionPage);
    expect(v.text).toContain('data-package-state="missing"');
    // Submitting before the upload: the API's 409 package_missing, in words.
    const early = await b.post(`${versionPage}/submit`, {});
    expect(early.status).toBe(409);
    expect(pageText(early.text)).toMatch(/package/);

    const mismatch = await b.api('PUT', `/v1/apps/${id}/versions/1/package`, { body: Buffer.from('other bytes'), headers: { 'content-type': 'application/octet-stream' } });
    expect(mismatch.status).toBe(422);
    expect(JSON.parse(mismatch.text).error.code).toBe('signature_mismatch');
    const upload = await b.api('PUT', `/v1/apps/${id}/versions/1/package`, { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(upload.status).toBe(200);
    v = await b.get(versionPage);
    expect(v.text).toContain('data-package-state="verified"');
    expect(pageText(v.text)).toContain('Signature verified with signing key "release"');
    expect(pageText(v.text)).toContain(JSON.parse(upload.text).sha256);

    expect((await b.post(`${versionPage}/submit`, {})).status).toBe(303);
    v = await b.get(versionPage);
    expect(v.text).toContain('data-review-state="review"');

    const op = new TestBrowser(t.app);
    await op.get('/console/operator/sign-in');
    const wrong = await op.post('/console/operator/sign-in', { token: 'not-the-admin-token' });
    expect(wrong.status).toBe(401);
    expect(op.cookies.has('mosis_operator')).toBe(false);
    expect((await op.post('/console/operator/sign-in', { token: ADMIN_TOKEN })).status).toBe(303);
    expect(op.cookies.get('mosis_operator')).not.toContain(ADMIN_TOKEN);
    let queue = await op.get('/console/operator');
    expect(queue.text).toContain(`data-queued="${packageId}:1"`);
    expect((await op.post(`/console/operator/apps/${id}/versions/1/approve?status=review`, {})).status).toBe(303);
    // Publishing twice: the second is the API's 409, in words.
    queue = await op.get('/console/operator?status=approved');
    expect((await op.post(`/console/operator/apps/${id}/versions/1/publish?status=approved`, {})).status).toBe(303);
    const twice = await op.post(`/console/operator/apps/${id}/versions/1/publish?status=approved`, {});
    expect(twice.status).toBe(409);
    const catalog = await t.call('GET', `/v1/catalog/apps/${packageId}`);
    expect(catalog.status).toBe(200);
    expect(catalog.body.latest_version.version_code).toBe(1);
    v = await b.get(versionPage);
    expect(v.text).toContain('data-review-state="published"');
    // The developer's audit log shows the decisions.
    const audit = await b.get('/console/audit');
    expect(audit.text).toContain('data-action="package.uploaded"');

    // Suspend from the queue's form: out of the catalog.
    expect((await op.post('/console/operator/apps/suspension', { app: packageId, do: 'suspend', reason: 'test' })).status).toBe(303);
    expect((await t.call('GET', `/v1/catalog/apps/${packageId}`)).status).toBe(404);
    expect((await op.post('/console/operator/apps/suspension', { app: packageId, do: 'reinstate' })).status).toBe(303);
    expect((await t.call('GET', `/v1/catalog/apps/${packageId}`)).status).toBe(200);
  });

  it("a rejection's notes reach the developer's version page; operator forms need the operator session", async () => {
    const b = new TestBrowser(t.app);
    await b.signUp();
    const token = b.cookies.get('mosis_session')!;
    const key = await t.signingKey(token, (await t.call('GET', '/v1/me', { token })).body.id);
    const id = await newApp(b);
    await t.readyVersion(token, key, id, 1);
    expect((await t.call('POST', `/v1/apps/${id}/versions/1/submit`, { token })).status).toBe(200);
    const op = new TestBrowser(t.app);
    await op.get('/console/operator/sign-in');
    await op.post('/console/operator/sign-in', { token: ADMIN_TOKEN });
    await op.get('/console/operator');
    const stranger = new TestBrowser(t.app);
    await stranger.signUp();
    // A developer's session is no operator session.
    const denied = await stranger.post(`/console/operator/apps/${id}/versions/1/reject`, { notes: 'no' });
    expect(denied.location).toBe('/console/operator/sign-in');
    expect((await op.post(`/console/operator/apps/${id}/versions/1/reject`, { notes: 'Crashes on start' })).status).toBe(303);
    const v = await b.get(`/console/apps/${id}/versions/1`);
    expect(v.text).toContain('data-review-state="rejected"');
    expect(pageText(v.text)).toContain('Crashes on start');
    await op.post('/console/operator/sign-out', {});
    expect((await op.get('/console/operator')).location).toBe('/console/operator/sign-in');
  });

  it('without ADMIN_TOKEN the operator console does not exist', async () => {
    const plain = await createTestApp();
    try {
      const b = new TestBrowser(plain.app);
      for (const path of ['/console/operator', '/console/operator/sign-in']) {
        const res = await b.get(path);
        expect(res.status).toBe(404);
        expect(pageText(res.text)).toContain('needs ADMIN_TOKEN');
      }
    } finally {
      plain.close();
    }
  });
});

/** Whether this server's API has a route (its OpenAPI document lists it). */
async function hasRoute(path: string): Promise<boolean> {
  const doc = (await t.call('GET', '/openapi.json')).body as { paths: Record<string, unknown> };
  return path in doc.paths;
}

describe('overview and crashes', () => {
  let b: TestBrowser;
  let id: string;
  let token: string;
  let fingerprint: string;
  const today = new Date().toISOString().slice(0, 10);
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

  beforeAll(async () => {
    b = new TestBrowser(t.app);
    await b.signUp();
    token = b.cookies.get('mosis_session')!;
    const packageId = `com.console.overview${Date.now()}`;
    id = await newApp(b, packageId);
    // Through ingest and the rollup, as a deployment stores them: the widgets read what production reads.
    const tel = await startTestTelemetry(t);
    try {
      const at = (day: string, n: number) => `${day}T00:00:${String(n).padStart(2, '0')}.000Z`;
      const event = (device: string, type: string, day: string, n: number) => ({ app: packageId, device_id: device, event_type: type, timestamp: at(day, n) });
      await tel.events([
        ...Array.from({ length: 10 }, (_, i) => event(`d${i % 4}`, 'app_open', yesterday, i)),
        ...Array.from({ length: 5 }, (_, i) => event(`d${i % 2}`, 'app_open', today, i)),
        ...Array.from({ length: 7 }, (_, i) => event(`d${i % 3}`, 'click', today, 10 + i)),
      ]);
      await tel.crashes([0, 1, 2].map((i) => ({ app: packageId, app_version: '1.0.0', device_id: `d${i % 2}`, crash_type: 'native_signal', message: 'SIGSEGV in render', timestamp: at(today, 30 + i) })));
      await tel.rollUp();
    } finally {
      await tel.close();
    }
    const groups = await t.call('GET', `/v1/apps/${id}/crash-groups?from=${today}&to=${today}`, { token });
    expect(groups.body.items).toHaveLength(1);
    fingerprint = groups.body.items[0].fingerprint;
  });

  it("the events chart's table holds exactly the API's daily numbers", async () => {
    const page = await b.get(`/console/apps/${id}?days=7`);
    expect(page.status).toBe(200);
    const api = await t.call('GET', `/v1/apps/${id}/analytics/daily?from=${new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10)}&to=${today}`, { token });
    const figure = grab(page.text, /(<figure data-chart="events"[\s\S]*?<\/figure>)/);
    const series = [...figure.matchAll(/data-series="([^"]+)"/g)].map((m) => m[1]!);
    expect(series).toEqual(['app_open', 'click']);
    const rows = [...figure.matchAll(/<tr data-x="(\d+)"><th scope="row">([\d-]+)<\/th>(.*?)<\/tr>/g)];
    const table = rows.flatMap((r) => [...r[3]!.matchAll(/data-value="(\d+)"/g)].map((v, i) => ({ date: r[2], event_type: series[i], count: Number(v[1]) })));
    expect(table).toEqual(api.body.items.map((i: { date: string; event_type: string; count: number }) => ({ date: i.date, event_type: i.event_type, count: i.count })));
    // The page loads uPlot, from us.
    expect(page.text).toMatch(/<script src="\/console\/static\/[0-9a-f]+\/vendor\/uPlot\.iife\.min\.js"/);
  });

  it.each([
    { widget: 'summary', route: '/v1/apps/{id}/analytics/summary' },
    { widget: 'crash-free', route: '/v1/apps/{id}/analytics/summary' },
    { widget: 'active-devices', route: '/v1/apps/{id}/analytics/active-devices' },
    { widget: 'breakdown', route: '/v1/apps/{id}/analytics/breakdown' },
  ])('the $widget widget is filled from $route', async ({ widget, route }) => {
    expect(await hasRoute(route)).toBe(true);
    const page = await b.get(`/console/apps/${id}`);
    expect(page.status).toBe(200);
    expect(grab(page.text, new RegExp(`data-widget="${widget}" data-state="([a-z]+)"`))).toBe('ok');
  });

  it('lists crash groups with their numbers, linking to the group', async () => {
    const page = await b.get(`/console/apps/${id}/crashes`);
    expect(page.text).toContain(`data-fingerprint="${fingerprint}"`);
    expect(pageText(page.text)).toContain('SIGSEGV in render');
    const group = await b.get(`/console/apps/${id}/crashes/${fingerprint}`);
    expect(group.status).toBe(200);
    expect(pageText(group.text)).toContain(`fingerprint ${fingerprint}`);
  });
});
