import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { SCRYPT_KEY_BYTES, SCRYPT_PARAMS, SCRYPT_SALT_BYTES } from '../limits.js';

/** scrypt's memory need is 128·N·r bytes; Node refuses by default above 32 MiB, so allow headroom. */
const SCRYPT_MAXMEM_FACTOR = 2;

function derive(password: string, salt: Buffer, keyLen: number, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const opts: ScryptOptions = { ...params, maxmem: SCRYPT_MAXMEM_FACTOR * 128 * params.N * params.r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * Hashes a password with scrypt and a fresh random salt. The result carries its parameters:
 * `scrypt$N$r$p$salt$hash` (salt and hash base64url), so stronger parameters later still verify old hashes.
 */
export async function hashPassword(password: string, params: { N: number; r: number; p: number } = SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SCRYPT_SALT_BYTES);
  const key = await derive(password, salt, SCRYPT_KEY_BYTES, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** A well-formed hash of no password anyone knows: verified against when the email is unknown. */
let dummyHash: Promise<string> | undefined;
function dummy(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
}

/** Largest scrypt N a stored hash may name: a corrupt row must not make verification eat the memory. */
const MAX_STORED_N = 1 << 20;

interface ParsedHash {
  params: { N: number; r: number; p: number };
  salt: Buffer;
  hash: Buffer;
}

function parseHash(encoded: string | null | undefined): ParsedHash | undefined {
  const parts = encoded?.split('$');
  if (!parts || parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every(Number.isSafeInteger) || N < 2 || N > MAX_STORED_N || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) {
    return undefined;
  }
  const salt = Buffer.from(parts[4]!, 'base64url');
  const hash = Buffer.from(parts[5]!, 'base64url');
  return salt.length && hash.length ? { params: { N, r, p }, salt, hash } : undefined;
}

/**
 * True when `password` matches `stored`. With no usable `stored` hash (unknown email) it still runs scrypt
 * against a dummy hash and answers false, so an unknown email and a wrong password take the same time.
 */
export async function verifyPassword(password: string, stored: string | null | undefined, dummyHash?: Promise<string>): Promise<boolean> {
  const parsed = parseHash(stored);
  const target = parsed ?? parseHash(await (dummyHash ?? dummy()))!;
  const got = await derive(password, target.salt, target.hash.length, target.params);
  const match = timingSafeEqual(got, target.hash);
  return parsed !== undefined && match;
}

/**
 * Hashing and verification with fixed parameters. The dummy hash for unknown emails is made at once with
 * the same parameters as real hashes, so the first unknown email is not slower and every failure costs
 * one scrypt of the same size.
 */
export function passwordHasher(params: { N: number; r: number; p: number } = SCRYPT_PARAMS) {
  const dummyHash = hashPassword(randomBytes(16).toString('hex'), params);
  return {
    hash: (password: string) => hashPassword(password, params),
    verify: (password: string, stored: string | null | undefined) => verifyPassword(password, stored, dummyHash),
  };
}
