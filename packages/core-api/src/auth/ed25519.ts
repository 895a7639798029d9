import { ApiError } from '@mosis/shared';
import { createHash, createPublicKey, verify } from 'node:crypto';

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

/** Bytes of an Ed25519 signature. */
export const ED25519_SIGNATURE_BYTES = 64;
/** A 64-byte signature in base64 without padding is 86 characters. */
const SIGNATURE_BASE64 = /^[A-Za-z0-9+/]{86}$/;

/**
 * Decodes a base64 or base64url Ed25519 signature (padding optional); undefined unless it is exactly 64
 * bytes, written canonically (no stray bits in the last character).
 */
export function decodeSignature(text: string): Buffer | undefined {
  const normalized = text.trim().replaceAll('-', '+').replaceAll('_', '/').replace(/={0,2}$/, '');
  if (!SIGNATURE_BASE64.test(normalized)) return undefined;
  const bytes = Buffer.from(normalized, 'base64');
  if (bytes.length !== ED25519_SIGNATURE_BYTES || bytes.toString('base64').replace(/=+$/, '') !== normalized) return undefined;
  return bytes;
}

/** What a developer signs to prove they hold a signing key: `mosis-signing-key:` + their developer id. */
export function proofMessage(developerId: string): Buffer {
  return Buffer.from(`mosis-signing-key:${developerId}`, 'utf8');
}

/** Whether `signature` is `publicKeyPem`'s Ed25519 signature of `message` (false for any unusable input). */
export function verifyEd25519(publicKeyPem: string, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(null, message, createPublicKey({ key: publicKeyPem, format: 'pem' }), signature);
  } catch {
    return false;
  }
}
