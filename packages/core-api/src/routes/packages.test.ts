import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPackages } from '../package-files/gc.js';
import { listPackageFiles, packagePath } from '../package-files/layout.js';
import { createTestApp, DUMMY_SIGNATURE, versionBody, type TestApp, type TestSigningKey } from '../test-app.js';

const ADMIN = 'admin-token-for-package-tests-000';
const HOUR_MS = 3_600_000;
let t: TestApp;
let dev: { token: string; id: string };
let key: TestSigningKey;

beforeAll(async () => {
  t = await createTestApp({ config: { ADMIN_TOKEN: ADMIN } });
  dev = await t.signup();
  key = await t.signingKey(dev.token, dev.id);
});
afterAll(() => t.close());

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** More than the 64 KiB JSON body limit: uploads are not under it. */
const bigPackage = () => randomBytes(200 * 1024);
const files = () => listPackageFiles(t.packages.root).map((f) => f.sha256);
const backups = () => listPackageFiles(t.packages.backupRoot).map((f) => f.sha256);
const temps = () => (existsSync(`${t.packages.root}/.tmp`) ? readdirSync(`${t.packages.root}/.tmp`) : []);
const rowsOf = (hash: string) => t.portal.prepare('SELECT * FROM packages WHERE sha256 = ?').all(hash);
const trail = async (token = dev.token) =>
  (await t.call('GET', '/v1/audit-logs?limit=100', { token })).body.items as { action: string; details: Record<string, unknown> }[];
const version = async (appId: string, code: number, token = dev.token) =>
  (await t.call('GET', `/v1/apps/${appId}/versions?limit=100`, { token })).body.items.find((v: { version_code: number }) => v.version_code === code);

/** Submits, approves and publishes version `code` of `appId`. */
async function publish(appId: string, code: number, token = dev.token) {
  expect((await t.call('POST', `/v1/apps/${appId}/versions/${code}/submit`, { token })).status).toBe(200);
  for (const step of ['approve', 'publish']) {
    const res = await t.call('POST', `/v1/admin/apps/${appId}/versions/${code}/${step}`, { token: ADMIN });
    expect(res.status, `${step}: ${res.text}`).toBe(200);
  }
}

async function download(packageId: string, code: number, headers: Record<string, string> = {}, method = 'GET') {
  const res = await t.app.request(`/v1/catalog/apps/${packageId}/versions/${code}/package`, { method, headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('PUT /v1/apps/{id}/versions/{code}/package', () => {
  it('stores the bytes content-addressed, fsynced, backed up, and records them on the version with the verifying key', async () => {
    const app = await t.newApp(dev.token);
    const bytes = bigPackage();
    const created = await t.call('POST', `/v1/apps/${app.id}/versions`, { token: dev.token, body: versionBody(1, { package_size: 5, signature: key.signPackage(bytes) }) });
    expect(created.body.package).toBeNull();
    const res = await t.upload(dev.token, app.id, 1, bytes);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ sha256: sha256(bytes), size: bytes.length, signing_key_id: key.id, fingerprint: key.fingerprint });
    expect(readFileSync(packagePath(t.packages.root, sha256(bytes)))).toEqual(bytes);
    expect(readFileSync(packagePath(t.packages.backupRoot, sha256(bytes)))).toEqual(bytes);
    expect(temps()).toEqual([]);
    // The declared package_size (5) is replaced by the real one.
    expect(await version(app.id, 1)).toMatchObject({
      package_size: bytes.length,
      package: { sha256: sha256(bytes), size: bytes.length, signing_key_id: key.id, uploaded_at: expect.any(String) },
    });
    expect((await trail())[0]).toMatchObject({ action: 'package.uploaded', details: { sha256: sha256(bytes), size: bytes.length, fingerprint: key.fingerprint, stored: 'new' } });
  });

  it('stores the same bytes once, for two versions of one app and for two apps', async () => {
    const bytes = bigPackage();
    const [a, b] = [await t.newApp(dev.token), await t.newApp(dev.token)];
    await t.readyVersion(dev.token, key, a.id, 1, bytes);
    await t.readyVersion(dev.token, key, a.id, 2, bytes);
    await t.readyVersion(dev.token, key, b.id, 1, bytes);
    expect(files().filter((f) => f === sha256(bytes))).toHaveLength(1);
    expect(rowsOf(sha256(bytes))).toHaveLength(1);
    expect((await trail())[0]).toMatchObject({ action: 'package.uploaded', details: { stored: 'existing' } });
  });

  it('answers 422 signature_mismatch for a signature over other bytes and keeps nothing', async () => {
    const app = await t.newApp(dev.token);
    const bytes = bigPackage();
    await t.call('POST', `/v1/apps/${app.id}/versions`, { token: dev.token, body: versionBody(1, { signature: key.signPackage(Buffer.from('other bytes')) }) });
    const before = files();
    const res = await t.upload(dev.token, app.id, 1, bytes);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'signature_mismatch', details: { sha256: sha256(bytes), size: bytes.length } });
    expect(files()).toEqual(before);
    expect(rowsOf(sha256(bytes))).toEqual([]);
    expect(temps()).toEqual([]);
    expect(backups()).not.toContain(sha256(bytes));
    expect((await version(app.id, 1)).package).toBeNull();
    expect((await trail())[0]).toMatchObject({ action: 'package.verification_failed', details: { sha256: sha256(bytes) } });
  });

  it("answers 422 for a signature by another developer's key, and for one that is only shaped like a signature", async () => {
    const other = await t.signup();
    const theirKey = await t.signingKey(other.token, other.id);
    const app = await t.newApp(dev.token);
    const bytes = Buffer.from('signed by someone else');
    await t.call('POST', `/v1/apps/${app.id}/versions`, { token: dev.token, body: versionBody(1, { signature: theirKey.signPackage(bytes) }) });
    await t.call('POST', `/v1/apps/${app.id}/versions`, { token: dev.token, body: versionBody(2, { signature: DUMMY_SIGNATURE }) });
    expect((await t.upload(dev.token, app.id, 1, bytes)).status).toBe(422);
    expect((await t.upload(dev.token, app.id, 2, bytes)).status).toBe(422);
  });

  it('keeps the stored bytes another version uses when an upload of them fails verification', async () => {
    const bytes = bigPackage();
    const app = await t.newApp(dev.token);
    await t.readyVersion(dev.token, key, app.id, 1, bytes);
    await t.call('POST', `/v1/apps/${app.id}/versions`, { token: dev.token, body: versionBody(2, { signature: DUMMY_SIGNATURE }) });
    expect((await t.upload(dev.token, app.id, 2, bytes)).status).toBe(422);
    expect(readFileSync(packagePath(t.packages.root, sha256(bytes)))).toEqual(bytes);
    expect(rowsOf(sha256(bytes))).toMatchObject([{ unreferenced_since: null, removed_at: null }]);
  });

  it('fixes a wrong signature with PATCH on the draft; with a package uploaded, the new signature must verify over it', async () => {
    const app = await t.newApp(dev.token);
    const bytes = Buffer.from('the package of a fixed draft');
    await t.call('POST', `/v1/apps/${app.id}/versions`, { token: dev.token, body: versionBody(1, { signature: DUMMY_SIGNATURE }) });
    expect((await t.upload(dev.token, app.id, 1, bytes)).status).toBe(422);
    const patched = await t.call('PATCH', `/v1/apps/${app.id}/versions/1`, { token: dev.token, body: { signature: key.signPackage(bytes) } });
    expect(patched.status).toBe(200);
    expect((await t.upload(dev.token, app.id, 1, bytes)).status).toBe(200);

    const wrong = await t.call('PATCH', `/v1/apps/${app.id}/versions/1`, { token: dev.token, body: { signature: key.signPackage(Buffer.from('x')) } });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.code).toBe('signature_mismatch');
    expect((await version(app.id, 1)).signature).toBe(key.signPackage(bytes));
    expect((await t.call('PATCH', `/v1/apps/${app.id}/versions/1`, { token: dev.token, body: { signature: 'abc' } })).status).toBe(400);
    expect((await t.call('POST', `/v1/apps/${app.id}/versions/1/submit`, { token: dev.token })).status).toBe(200);
    const late = await t.call('PATCH', `/v1/apps/${app.id}/versions/1`, { token: dev.token, body: { signature: key.signPackage(bytes) } });
    expect(late.status).toBe(409);
  });

  it('signs no new upload with a deactivated key; versions it signed before stay valid and downloadable', async () => {
    const old = await t.signingKey(dev.token, dev.id, 'to retire');
    const app = await t.newApp(dev.token);
    const first = Buffer.from('signed while the key was active');
    await t.readyVersion(dev.token, old, app.id, 1, first);
    await publish(app.id, 1);
    expect((await t.call('DELETE', `/v1/signing-keys/${old.id}`, { token: dev.token })).status).toBe(204);

    const second = Buffer.from('signed after the key was deactivated');
    await t.call('POST', `/v1/apps/${app.id}/versions`, { token: dev.token, body: versionBody(2, { signature: old.signPackage(second) }) });
    const res = await t.upload(dev.token, app.id, 2, second);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('signature_mismatch');

    const got = await download(app.package_id, 1);
    expect(got.status).toBe(200);
    expect(got.bytes).toEqual(first);
    expect(got.headers.get('x-mosis-signing-key')).toBe(old.fingerprint);
    const entry = (await t.call('GET', `/v1/catalog/apps/${app.package_id}`)).body;
    expect(entry.latest_version.package.signing_key).toEqual({ fingerprint: old.fingerprint, public_key: old.publicPem });
  });

  it('takes packages only for drafts of apps that are not suspended (409), as octet-stream (415), not empty (400)', async () => {
    const app = await t.newApp(dev.token);
    const bytes = Buffer.from('only for drafts');
    await t.readyVersion(dev.token, key, app.id, 1, bytes);
    const wrongType = await t.call('PUT', `/v1/apps/${app.id}/versions/1/package`, { token: dev.token, raw: bytes, headers: { 'content-type': 'application/json' } });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body.error.code).toBe('unsupported_media_type');
    expect((await t.upload(dev.token, app.id, 1, new Uint8Array())).body.error).toMatchObject({ code: 'invalid_body' });
    expect((await t.upload(dev.token, app.id, 9, bytes)).status).toBe(404);
    expect((await t.call('POST', `/v1/apps/${app.id}/versions/1/submit`, { token: dev.token })).status).toBe(200);
    const inReview = await t.upload(dev.token, app.id, 1, bytes);
    expect(inReview.status).toBe(409);
    expect(inReview.body.error.details).toEqual({ status: 'review' });
    expect(inReview.headers.get('connection')).toBe('close');
  });

  it('needs apps:write', async () => {
    const app = await t.newApp(dev.token);
    const reader = (await t.call('POST', '/v1/api-keys', { token: dev.token, body: { name: 'r', permissions: ['apps:read'] } })).body.key;
    expect((await t.upload(reader, app.id, 1, Buffer.from('x'))).status).toBe(403);
    expect((await t.call('PUT', `/v1/apps/${app.id}/versions/1/package`, { raw: Buffer.from('x') })).status).toBe(401);
  });
});

describe('submit needs a verified package', () => {
  it('answers 409 package_missing for a draft without one, and the operator cannot approve such a version either', async () => {
    const app = await t.newApp(dev.token);
    await t.call('POST', `/v1/apps/${app.id}/versions`, { token: dev.token, body: versionBody(1) });
    const res = await t.call('POST', `/v1/apps/${app.id}/versions/1/submit`, { token: dev.token });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('package_missing');
    expect((await version(app.id, 1)).status).toBe('draft');
    // A version that reached review before uploads existed.
    t.portal.prepare("UPDATE app_versions SET status = 'review' WHERE app_id = ?").run(app.id);
    const approve = await t.call('POST', `/v1/admin/apps/${app.id}/versions/1/approve`, { token: ADMIN });
    expect(approve.status).toBe(409);
    expect(approve.body.error.code).toBe('package_missing');
  });
});

describe('DELETE /v1/apps/{id}/versions/{code}', () => {
  it('deletes drafts and rejected versions; a version in review or published stays (409)', async () => {
    const app = await t.newApp(dev.token);
    await t.readyVersion(dev.token, key, app.id, 1, Buffer.from('v1'));
    await t.call('POST', `/v1/apps/${app.id}/versions`, { token: dev.token, body: versionBody(2) });
    expect((await t.call('POST', `/v1/apps/${app.id}/versions/1/submit`, { token: dev.token })).status).toBe(200);
    expect((await t.call('DELETE', `/v1/apps/${app.id}/versions/1`, { token: dev.token })).status).toBe(409);
    expect((await t.call('DELETE', `/v1/apps/${app.id}/versions/2`, { token: dev.token })).status).toBe(204);
    expect((await t.call('DELETE', `/v1/apps/${app.id}/versions/2`, { token: dev.token })).status).toBe(404);
    await t.call('POST', `/v1/admin/apps/${app.id}/versions/1/reject`, { token: ADMIN, body: { notes: 'no' } });
    expect((await t.call('DELETE', `/v1/apps/${app.id}/versions/1`, { token: dev.token })).status).toBe(204);
    expect((await trail())[0]).toMatchObject({ action: 'version.deleted', details: { version_code: 1, sha256: sha256(Buffer.from('v1')) } });
  });
});

describe('GET /v1/catalog/apps/{package_id}/versions/{code}/package', () => {
  const bytes = randomBytes(1000);
  let app: { id: string; package_id: string };
  beforeAll(async () => {
    app = await t.newApp(dev.token);
    await t.readyVersion(dev.token, key, app.id, 1, bytes);
    await publish(app.id, 1);
    await t.readyVersion(dev.token, key, app.id, 2, Buffer.from('only a draft'));
  });

  it('serves the bytes with their ETag, length, signature and signing key, which verify with the catalog entry alone', async () => {
    const res = await download(app.package_id, 1);
    expect(res.status).toBe(200);
    expect(res.bytes).toEqual(bytes);
    expect(Object.fromEntries(['etag', 'content-length', 'accept-ranges', 'content-type', 'x-mosis-signing-key'].map((h) => [h, res.headers.get(h)]))).toEqual({
      etag: `"${sha256(bytes)}"`,
      'content-length': '1000',
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      'x-mosis-signing-key': key.fingerprint,
    });
    const entry = (await t.call('GET', `/v1/catalog/apps/${app.package_id}`)).body.latest_version;
    expect(entry.package).toEqual({
      url: `http://localhost/v1/catalog/apps/${app.package_id}/versions/1/package`,
      sha256: sha256(bytes),
      size: 1000,
      signature: res.headers.get('x-mosis-signature'),
      signing_key: { fingerprint: key.fingerprint, public_key: key.publicPem },
    });
    // What a device does: hash what it got, check the signature with the catalog's public key.
    const digest = createHash('sha256').update(res.bytes).digest();
    expect(verify(null, digest, createPublicKey(entry.package.signing_key.public_key), Buffer.from(entry.package.signature, 'base64'))).toBe(true);
  });

  it('builds download URLs on PUBLIC_URL when it is set', async () => {
    const other = await createTestApp({ config: { ADMIN_TOKEN: ADMIN, PUBLIC_URL: 'https://portal.example.com' } });
    try {
      const owner = await other.signup();
      const ownerKey = await other.signingKey(owner.token, owner.id);
      const mine = await other.newApp(owner.token);
      await other.readyVersion(owner.token, ownerKey, mine.id, 1);
      await other.call('POST', `/v1/apps/${mine.id}/versions/1/submit`, { token: owner.token });
      for (const step of ['approve', 'publish']) await other.call('POST', `/v1/admin/apps/${mine.id}/versions/1/${step}`, { token: ADMIN });
      const entry = (await other.call('GET', `/v1/catalog/apps/${mine.package_id}`, { headers: { host: 'evil.example' } })).body;
      expect(entry.latest_version.package.url).toBe(`https://portal.example.com/v1/catalog/apps/${mine.package_id}/versions/1/package`);
      expect(entry.latest_version.package_url).toBe(entry.latest_version.package.url);
    } finally {
      other.close();
    }
  });

  it.each([
    ['a draft version', () => `/v1/catalog/apps/${app.package_id}/versions/2/package`],
    ['a version that does not exist', () => `/v1/catalog/apps/${app.package_id}/versions/7/package`],
    ['a version code that is no number', () => `/v1/catalog/apps/${app.package_id}/versions/x/package`],
    ['an app that does not exist', () => '/v1/catalog/apps/com.nope.app/versions/1/package'],
  ])('answers 404 for %s', async (_n, path) => {
    const res = await t.call('GET', path());
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('answers 404 for the published versions of a suspended app, and serves them again once reinstated', async () => {
    expect((await t.call('POST', `/v1/admin/apps/${app.id}/suspend`, { token: ADMIN, body: { reason: 'check' } })).status).toBe(200);
    expect((await download(app.package_id, 1)).status).toBe(404);
    expect((await t.call('POST', `/v1/admin/apps/${app.id}/reinstate`, { token: ADMIN })).status).toBe(200);
    expect((await download(app.package_id, 1)).status).toBe(200);
  });

  const etag = () => `"${sha256(bytes)}"`;
  it.each<[string, () => Record<string, string>, number, () => Buffer | null, string | null]>([
    ['the first bytes', () => ({ range: 'bytes=0-9' }), 206, () => bytes.subarray(0, 10), 'bytes 0-9/1000'],
    ['a middle range', () => ({ range: 'bytes=100-199' }), 206, () => bytes.subarray(100, 200), 'bytes 100-199/1000'],
    ['a suffix', () => ({ range: 'bytes=-5' }), 206, () => bytes.subarray(995), 'bytes 995-999/1000'],
    ['a suffix longer than the file', () => ({ range: 'bytes=-5000' }), 206, () => bytes, 'bytes 0-999/1000'],
    ['an open-ended range (a resumed download)', () => ({ range: 'bytes=600-' }), 206, () => bytes.subarray(600), 'bytes 600-999/1000'],
    ['a range past the last byte, clipped', () => ({ range: 'bytes=990-5000' }), 206, () => bytes.subarray(990), 'bytes 990-999/1000'],
    ['the unit in capitals, with spaces', () => ({ range: 'Bytes = 0-0' }), 206, () => bytes.subarray(0, 1), 'bytes 0-0/1000'],
    ['several ranges: the whole package', () => ({ range: 'bytes=0-1,5-6' }), 200, () => bytes, null],
    ['another unit: ignored', () => ({ range: 'items=0-1' }), 200, () => bytes, null],
    ['a range starting at the end', () => ({ range: 'bytes=1000-' }), 416, () => null, 'bytes */1000'],
    ['a range ending before it starts', () => ({ range: 'bytes=5-2' }), 416, () => null, 'bytes */1000'],
    ['a zero-length suffix', () => ({ range: 'bytes=-0' }), 416, () => null, 'bytes */1000'],
    ['garbage', () => ({ range: 'bytes=abc' }), 416, () => null, 'bytes */1000'],
    ['a huge start', () => ({ range: 'bytes=99999999999999999999999-' }), 416, () => null, 'bytes */1000'],
    ['If-Range with our ETag', () => ({ range: 'bytes=0-9', 'if-range': etag() }), 206, () => bytes.subarray(0, 10), 'bytes 0-9/1000'],
    ['If-Range with another ETag: the whole package', () => ({ range: 'bytes=0-9', 'if-range': '"abc"' }), 200, () => bytes, null],
    ['If-Range with a date: the whole package', () => ({ range: 'bytes=0-9', 'if-range': 'Tue, 01 Dec 2026 10:00:00 GMT' }), 200, () => bytes, null],
    ['If-None-Match with our ETag', () => ({ 'if-none-match': etag() }), 304, () => Buffer.alloc(0), null],
    ['If-None-Match with our ETag, weak, in a list', () => ({ 'if-none-match': `"x", W/${etag()}` }), 304, () => Buffer.alloc(0), null],
    ['If-None-Match *', () => ({ 'if-none-match': '*' }), 304, () => Buffer.alloc(0), null],
    ['If-None-Match with another ETag', () => ({ 'if-none-match': '"other"' }), 200, () => bytes, null],
  ])('answers %s', async (_n, headers, status, body, contentRange) => {
    const res = await download(app.package_id, 1, headers());
    expect(res.status).toBe(status);
    expect(res.headers.get('content-range')).toBe(contentRange);
    expect(res.headers.get('etag')).toBe(etag());
    const expected = body();
    if (expected) {
      expect(res.bytes).toEqual(expected);
      if (status !== 304) expect(res.headers.get('content-length')).toBe(String(expected.length));
    } else {
      expect(JSON.parse(res.bytes.toString()).error.code).toBe('range_not_satisfiable');
    }
  });

  it('answers HEAD with the headers only', async () => {
    const res = await download(app.package_id, 1, { range: 'bytes=0-9' }, 'HEAD');
    expect(res.status).toBe(206);
    expect(res.headers.get('content-length')).toBe('10');
    expect(res.bytes.length).toBe(0);
  });
});

describe('storage lifecycle', () => {
  const graceMs = 24 * HOUR_MS;
  const gc = (hoursFromNow: number) => collectPackages({ storage: t.packages, db: t.portal, graceMs, now: Date.now() + hoursFromNow * HOUR_MS });

  it("keeps bytes while any version references them: deleting one app never breaks another's download", async () => {
    const bytes = Buffer.from('shared by two apps');
    const [a, b] = [await t.newApp(dev.token), await t.newApp(dev.token)];
    for (const app of [a, b]) {
      await t.readyVersion(dev.token, key, app.id, 1, bytes);
      await publish(app.id, 1);
    }
    expect((await t.call('DELETE', `/v1/apps/${a.id}`, { token: dev.token })).status).toBe(204);
    expect((await gc(10_000)).removed).not.toContain(sha256(bytes));
    const res = await download(b.package_id, 1);
    expect(res.status).toBe(200);
    expect(res.bytes).toEqual(bytes);
  });

  it('removes bytes no version references once the grace period has passed, only those, and their backup after the retention', async () => {
    const gone = Buffer.from('referenced by nothing soon');
    const kept = Buffer.from('still referenced by a draft');
    const app = await t.newApp(dev.token);
    const other = await t.newApp(dev.token);
    await t.readyVersion(dev.token, key, app.id, 1, gone);
    await t.readyVersion(dev.token, key, app.id, 2, kept);
    await t.readyVersion(dev.token, key, other.id, 1, kept);
    expect((await t.call('DELETE', `/v1/apps/${app.id}`, { token: dev.token })).status).toBe(204);
    expect(rowsOf(sha256(gone))).toMatchObject([{ unreferenced_since: expect.any(String), removed_at: null }]);
    expect(rowsOf(sha256(kept))).toMatchObject([{ unreferenced_since: null }]);

    expect((await gc(23)).removed).toEqual([]);
    expect(files()).toContain(sha256(gone));
    const after = await gc(25);
    expect(after.removed).toEqual([sha256(gone)]);
    expect(files()).not.toContain(sha256(gone));
    expect(files()).toContain(sha256(kept));
    expect(backups()).toContain(sha256(gone)); // a restore of an older portal.db may still need it
    expect((await trail())[0]).toMatchObject({ action: 'package.removed', details: { by: 'gc' } });

    expect((await gc(24 * 29)).purged).toEqual([]);
    expect((await gc(24 + 721)).purged).toEqual([sha256(gone)]);
    expect(backups()).not.toContain(sha256(gone));
    expect(rowsOf(sha256(gone))).toEqual([]);
  });

  it('takes back bytes that were waiting for removal when they are uploaded again, and brings back a removed file', async () => {
    const bytes = Buffer.from('uploaded, released, uploaded again');
    const first = await t.newApp(dev.token);
    await t.readyVersion(dev.token, key, first.id, 1, bytes);
    await t.call('DELETE', `/v1/apps/${first.id}`, { token: dev.token });
    const again = await t.newApp(dev.token);
    await t.readyVersion(dev.token, key, again.id, 1, bytes);
    expect((await gc(25)).removed).not.toContain(sha256(bytes));

    await t.call('DELETE', `/v1/apps/${again.id}`, { token: dev.token });
    expect((await gc(25)).removed).toContain(sha256(bytes));
    const third = await t.newApp(dev.token);
    await t.readyVersion(dev.token, key, third.id, 1, bytes);
    expect(readFileSync(packagePath(t.packages.root, sha256(bytes)))).toEqual(bytes);
    expect(rowsOf(sha256(bytes))).toMatchObject([{ unreferenced_since: null, removed_at: null }]);
  });

  it('releases the old bytes when a draft gets a new package, and a deleted draft releases its own', async () => {
    const app = await t.newApp(dev.token);
    const v1 = Buffer.from('first try');
    const v2 = Buffer.from('second try');
    await t.readyVersion(dev.token, key, app.id, 1, v1);
    await t.call('PATCH', `/v1/apps/${app.id}/versions/1`, { token: dev.token, body: { signature: key.signPackage(v2) } });
    // The new signature does not verify over v1: refused, v1 stays.
    expect(rowsOf(sha256(v1))).toMatchObject([{ unreferenced_since: null }]);
    await t.call('POST', `/v1/apps/${app.id}/versions`, { token: dev.token, body: versionBody(2, { signature: key.signPackage(v2) }) });
    expect((await t.upload(dev.token, app.id, 2, v2)).status).toBe(200);
    await t.call('DELETE', `/v1/apps/${app.id}/versions/1`, { token: dev.token });
    expect(rowsOf(sha256(v1))).toMatchObject([{ unreferenced_since: expect.any(String) }]);
    expect(rowsOf(sha256(v2))).toMatchObject([{ unreferenced_since: null }]);
  });

  it('removes files no row accounts for (a crash between rename and commit) after the grace period, and copies live packages the backup lacks', async () => {
    const stray = Buffer.from('renamed, never committed');
    const { mkdirSync, writeFileSync, rmSync } = await import('node:fs');
    mkdirSync(`${t.packages.root}/${sha256(stray).slice(0, 2)}`, { recursive: true });
    writeFileSync(packagePath(t.packages.root, sha256(stray)), stray);
    const app = await t.newApp(dev.token);
    const live = Buffer.from('backup copy lost');
    await t.readyVersion(dev.token, key, app.id, 1, live);
    rmSync(packagePath(t.packages.backupRoot, sha256(live)));
    const early = await gc(1);
    expect(early.strays).toEqual([]);
    expect(early.backedUp).toEqual([sha256(live)]);
    const report = await gc(25);
    expect(report.strays).toEqual([sha256(stray)]);
    expect(files()).not.toContain(sha256(stray));
    expect(readFileSync(packagePath(t.packages.backupRoot, sha256(live)))).toEqual(live);
  });
});
