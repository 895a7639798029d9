import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Random bytes behind every session token and API key (256 bits). */
const TOKEN_BYTES = 32;
/** API keys start with this, so they are recognisable in code and secret scanners. */
export const API_KEY_PREFIX = 'mk_';
/** Session tokens start with this: the auth middleware tells the two apart without a lookup. */
export const SESSION_PREFIX = 'ms_';
/** Device tokens (a client that logged in before) start with this. */
export const DEVICE_PREFIX = 'md_';
/** Characters of an API key kept in clear for display: `mk_` and the first 8 random characters. */
const DISPLAY_PREFIX_CHARS = API_KEY_PREFIX.length + 8;

/** SHA-256 hex of a secret: what the database stores and looks tokens up by. */
export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests (equal length by construction; false otherwise). */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A new login session token (shown to the client once) and the hash stored for it. */
export function newSessionToken(): { token: string; hash: string } {
  const token = SESSION_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
  return { token, hash: sha256Hex(token) };
}

/** A new API key: `mk_` + 32 random bytes base64url; its hash, and the prefix kept for display. */
export function newApiKey(): { key: string; hash: string; prefix: string } {
  const key = API_KEY_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
  return { key, hash: sha256Hex(key), prefix: key.slice(0, DISPLAY_PREFIX_CHARS) };
}

/** A new device token (shown to the client once, at login) and the hash stored for it. */
export function newDeviceToken(): { token: string; hash: string } {
  const token = DEVICE_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
  return { token, hash: sha256Hex(token) };
}
