import { createHash, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../test-app.js';

let t: TestApp;
let token: string;
beforeAll(async () => {
  t = await createTestApp();
  token = (await t.signup()).token;
});
afterAll(() => t.close());

function ed25519() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return {
    pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    fingerprint: createHash('sha256').update(raw).digest('hex'),
  };
}

const count = () => (t.portal.prepare('SELECT count(*) AS n FROM signing_keys').get() as { n: number }).n;

describe('signing keys', () => {
  it('stores an Ed25519 public key with the SHA-256 fingerprint of the raw key', async () => {
    const key = ed25519();
    const res = await t.call('POST', '/v1/signing-keys', { token, body: { name: 'release', public_key: key.pem } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'release', fingerprint: key.fingerprint, active: true, public_key: key.pem });
    const again = await t.call('POST', '/v1/signing-keys', { token, body: { name: 'dup', public_key: key.pem } });
    expect(again.status).toBe(409);
  });

  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  it.each([
    ['an RSA key', rsa],
    ['a private key', ed25519().privatePem],
    ['garbage', 'hello'],
    ['a PEM block of garbage', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'],
    ['an empty string', ''],
  ])('answers 400 for %s and stores nothing', async (_n, pem) => {
    const before = count();
    const res = await t.call('POST', '/v1/signing-keys', { token, body: { name: 'bad', public_key: pem } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_body');
    expect(count()).toBe(before);
  });

  it('deactivates on delete: listed as inactive, deleting again is 404, unknown ids are 404', async () => {
    const created = (await t.call('POST', '/v1/signing-keys', { token, body: { name: 'old', public_key: ed25519().pem } })).body;
    expect((await t.call('DELETE', `/v1/signing-keys/${created.id}`, { token })).status).toBe(204);
    const list = await t.call('GET', '/v1/signing-keys', { token });
    expect(list.body.items.find((k: { id: string }) => k.id === created.id).active).toBe(false);
    expect((await t.call('DELETE', `/v1/signing-keys/${created.id}`, { token })).status).toBe(404);
    expect((await t.call('DELETE', '/v1/signing-keys/not-a-uuid%20at%20all', { token })).status).toBe(404);
  });

  it('needs keys:write from an API key', async () => {
    const reader = (await t.call('POST', '/v1/api-keys', { token, body: { name: 'r', permissions: ['apps:read'] } })).body.key;
    expect((await t.call('GET', '/v1/signing-keys', { token: reader })).status).toBe(403);
    expect((await t.call('GET', '/v1/signing-keys')).status).toBe(401);
  });
});
