import { ApiError } from '@mosis/shared';
import { createHash, createPublicKey } from 'node:crypto';

/** A PEM public key is a few hundred bytes; anything much longer is not one. */
export const MAX_PUBLIC_KEY_CHARS = 4096;
const PUBLIC_PEM = /^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\s*$/;

/**
 * Parses an Ed25519 public key in PEM (SPKI). Returns the key re-encoded canonically and its fingerprint:
 * hex SHA-256 of the raw 32-byte public key. Anything else (another algorithm, a private key, garbage) is a
 * 400 `invalid_body`: a private key must never be accepted, even though Node could derive its public half.
 */
export function parseEd25519PublicKey(pem: string): { pem: string; fingerprint: string } {
  const text = pem.trim() + '\n';
  const invalid = (why: string) =>
    ApiError.badRequest(`public_key: ${why}`, [{ path: 'public_key', message: why }]);
  if (!PUBLIC_PEM.test(text)) throw invalid('must be a PEM "PUBLIC KEY" block');
  let key;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (err) {
    throw new ApiError(400, 'invalid_body', 'public_key: not a valid public key', [{ path: 'public_key', message: 'unparseable' }], undefined, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw invalid(`must be an Ed25519 key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  const raw = Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url');
  return {
    pem: key.export({ type: 'spki', format: 'pem' }).toString(),
    fingerprint: createHash('sha256').update(raw).digest('hex'),
  };
}
