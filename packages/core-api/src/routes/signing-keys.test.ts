import { createHash, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../test-app.js';

let t: TestApp;
let token: string;
let devId: string;
beforeAll(async () => {
  t = await createTestApp();
  ({ token, id: devId } = await t.signup());
});
afterAll(() => t.close());

function ed25519() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return {
    pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    fingerprint: createHash('sha256').update(raw).digest('hex'),
    /** The proof of possession for developer `id`. */
    proof: (id = devId) => sign(null, Buffer.from(`mosis-signing-key:${id}`, 'utf8'), privateKey).toString('base64'),
  };
}

const count = () => (t.portal.prepare('SELECT count(*) AS n FROM signing_keys').get() as { n: number }).n;

describe('signing keys', () => {
  it('stores an Ed25519 public key with the SHA-256 fingerprint of the raw key', async () => {
    const key = ed25519();
    const res = await t.call('POST', '/v1/signing-keys', { token, body: { name: 'release', public_key: key.pem, proof: key.proof() } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'release', fingerprint: key.fingerprint, active: true, public_key: key.pem });
    const again = await t.call('POST', '/v1/signing-keys', { token, body: { name: 'dup', public_key: key.pem, proof: key.proof() } });
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
    const res = await t.call('POST', '/v1/signing-keys', { token, body: { name: 'bad', public_key: pem, proof: ed25519().proof() } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_body');
    expect(count()).toBe(before);
  });

  it('deactivates on delete: listed as inactive, deleting again is 404, unknown ids are 404', async () => {
    const key = ed25519();
    const created = (await t.call('POST', '/v1/signing-keys', { token, body: { name: 'old', public_key: key.pem, proof: key.proof() } })).body;
    expect((await t.call('DELETE', `/v1/signing-keys/${created.id}`, { token })).status).toBe(204);
    const list = await t.call('GET', '/v1/signing-keys', { token });
    expect(list.body.items.find((k: { id: string }) => k.id === created.id).active).toBe(false);
    expect((await t.call('DELETE', `/v1/signing-keys/${created.id}`, { token })).status).toBe(404);
    expect((await t.call('DELETE', '/v1/signing-keys/not-a-uuid%20at%20all', { token })).status).toBe(404);
  });

  describe('proof of possession', () => {
    const other = ed25519();
    it.each([
      ['no proof', () => undefined],
      ['an empty proof', () => ''],
      ['a proof that is no signature', () => 'not a signature'],
      ['a proof for another account', (k: ReturnType<typeof ed25519>) => k.proof('00000000-0000-4000-8000-000000000000')],
      ['a proof of other text', (k: ReturnType<typeof ed25519>) => sign(null, Buffer.from(`mosis-signing-key: ${devId}`), createPrivateKey(k.privatePem)).toString('base64')],
      ["another key's proof", () => other.proof()],
      ['a proof with one bit flipped', (k: ReturnType<typeof ed25519>) => flipBit(k.proof())],
    ])('answers 400 invalid_proof for %s and stores nothing', async (_n, proof) => {
      const key = ed25519();
      const before = count();
      const res = await t.call('POST', '/v1/signing-keys', { token, body: { name: 'k', public_key: key.pem, proof: proof(key) } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_proof');
      expect(res.body.error.details).toEqual([{ path: 'proof', message: expect.any(String) }]);
      expect(count()).toBe(before);
    });

    it("accepts another developer's proof only on their own account", async () => {
      const bob = await t.signup();
      const key = ed25519();
      const aliceTries = await t.call('POST', '/v1/signing-keys', { token, body: { name: 'k', public_key: key.pem, proof: key.proof(bob.id) } });
      expect(aliceTries.body.error.code).toBe('invalid_proof');
      const bobs = await t.call('POST', '/v1/signing-keys', { token: bob.token, body: { name: 'k', public_key: key.pem, proof: key.proof(bob.id) } });
      expect(bobs.status).toBe(201);
    });
  });

  describe('a fingerprint is active on one account at most', () => {
    it('answers 409 while the key is active elsewhere; once deactivated there, another account may register it', async () => {
      const bob = await t.signup();
      const key = ed25519();
      const alices = await t.call('POST', '/v1/signing-keys', { token, body: { name: 'shared', public_key: key.pem, proof: key.proof() } });
      expect(alices.status).toBe(201);
      const bobTries = await t.call('POST', '/v1/signing-keys', { token: bob.token, body: { name: 'shared', public_key: key.pem, proof: key.proof(bob.id) } });
      expect(bobTries.status).toBe(409);
      expect(bobTries.body.error.code).toBe('conflict');
      expect((await t.call('DELETE', `/v1/signing-keys/${alices.body.id}`, { token })).status).toBe(204);
      const bobs = await t.call('POST', '/v1/signing-keys', { token: bob.token, body: { name: 'shared', public_key: key.pem, proof: key.proof(bob.id) } });
      expect(bobs.status).toBe(201);
    });

    it('is enforced by portal.db itself, not only by a read before the insert', async () => {
      const key = ed25519();
      const row = (await t.call('POST', '/v1/signing-keys', { token, body: { name: 'db', public_key: key.pem, proof: key.proof() } })).body;
      const bob = await t.signup();
      const insert = () =>
        t.portal
          .prepare('INSERT INTO signing_keys (id, developer_id, name, public_key, fingerprint) VALUES (?, ?, ?, ?, ?)')
          .run(`raw-${Math.random()}`, bob.id, 'raw', key.pem, row.fingerprint);
      expect(insert).toThrow(/UNIQUE constraint failed/);
      t.portal.prepare('UPDATE signing_keys SET is_active = 0 WHERE id = ?').run(row.id);
      expect(insert).not.toThrow();
    });
  });

  it('needs keys:write from an API key', async () => {
    const reader = (await t.call('POST', '/v1/api-keys', { token, body: { name: 'r', permissions: ['apps:read'] } })).body.key;
    expect((await t.call('GET', '/v1/signing-keys', { token: reader })).status).toBe(403);
    expect((await t.call('GET', '/v1/signing-keys')).status).toBe(401);
  });
});

function flipBit(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[10] = bytes[10]! ^ 1;
  return bytes.toString('base64');
}
