import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** File in DATA_DIR holding the generated device-hash secret when DEVICE_HASH_SECRET is not set. */
export const DEVICE_SECRET_FILE = 'device-hash.secret';
/** Random bytes of a generated secret (hex-encoded in the file). */
const GENERATED_SECRET_BYTES = 32;
/** Raw ids remembered with their hash: a device sends many events, and an HMAC costs more than a lookup. */
const HASH_CACHE_ENTRIES = 50_000;

/**
 * The device-hash secret: DEVICE_HASH_SECRET when given, else the one kept in DATA_DIR, generated on first
 * start (created exclusively, so two processes starting at once agree on one secret).
 */
export function loadDeviceSecret(dataDir: string, configured?: string): string {
  if (configured) return configured;
  const path = join(dataDir, DEVICE_SECRET_FILE);
  try {
    writeFileSync(path, randomBytes(GENERATED_SECRET_BYTES).toString('hex') + '\n', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`create ${path}: ${(err as Error).message}`, { cause: err });
  }
  const secret = readFileSync(path, 'utf8').trim();
  if (secret.length < 32) throw new Error(`${path}: secret shorter than 32 characters`);
  return secret;
}

/**
 * The device-hash secret for a reader (the core API): DEVICE_HASH_SECRET when given, else the one ingest
 * keeps in DATA_DIR, or undefined while there is none. Never creates it: that is ingest's first start.
 */
export function readDeviceSecret(dataDir: string, configured?: string): string | undefined {
  if (configured) return configured;
  const path = join(dataDir, DEVICE_SECRET_FILE);
  let secret: string;
  try {
    secret = readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`read ${path}: ${(err as Error).message}`, { cause: err });
  }
  // Ingest creates the file exclusively and writes it whole; a short one is being written or damaged.
  return secret.length >= 32 ? secret : undefined;
}

/**
 * Maps a raw device id to the first 64 bits of HMAC-SHA256(secret, id) as a signed integer: stable across
 * days and restarts, and without the secret not reversible to the raw id. The raw id is kept only in this
 * in-memory cache, never on disk or in logs.
 */
export class DeviceHasher {
  private cache = new Map<string, bigint>();

  constructor(private readonly secret: string) {}

  hash(rawId: string): bigint {
    let h = this.cache.get(rawId);
    if (h === undefined) {
      h = createHmac('sha256', this.secret).update(rawId, 'utf8').digest().readBigInt64BE(0);
      // Dropping everything at the bound keeps memory fixed with no per-hit bookkeeping.
      if (this.cache.size >= HASH_CACHE_ENTRIES) this.cache.clear();
      this.cache.set(rawId, h);
    }
    return h;
  }
}
