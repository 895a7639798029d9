import type { DB } from '@mosis/shared';
import { decodeSignature, verifyEd25519 } from '../auth/ed25519.js';
import { activeSigningKeys, type SigningKeyRow } from '../store/signing-keys.js';

/**
 * The caller's active signing key whose Ed25519 signature over the package's 32-byte SHA-256 digest
 * `signature` (base64) is; undefined when none is (or the signature is no 64-byte signature). Deactivated
 * keys sign nothing new.
 */
export function findSigner(db: DB, developerId: string, sha256Hex: string, signature: string): SigningKeyRow | undefined {
  const sig = decodeSignature(signature);
  if (!sig) return undefined;
  const digest = Buffer.from(sha256Hex, 'hex');
  return activeSigningKeys(db, developerId).find((key) => verifyEd25519(key.public_key, digest, sig));
}
