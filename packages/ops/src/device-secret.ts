import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The file ingest keeps its generated device-hash secret in (packages/ingest/src/privacy/device-hash.ts). */
export const DEVICE_SECRET_FILE = 'device-hash.secret';
/** Random bytes of a generated secret, hex-encoded: as ingest generates it. */
const SECRET_BYTES = 32;

function present(path: string): boolean {
  return existsSync(path) && statSync(path).size > 0;
}

/**
 * The device-hash secret is a file, not a database, so Litestream does not replicate it; without it a
 * restored deployment would hash device ids under a new secret and split unique-device counts. This keeps
 * a copy in the backup directory: restored from there when the data directory lost it, generated (as
 * ingest would) when neither has one, so that the copy exists from the first start. Nothing to do when
 * DEVICE_HASH_SECRET is set in the environment.
 */
export function keepSecretWithBackups(dataDir: string, backupDir: string, env: NodeJS.ProcessEnv = process.env): 'configured' | 'restored' | 'kept' {
  if (env.DEVICE_HASH_SECRET) return 'configured';
  const live = join(dataDir, DEVICE_SECRET_FILE);
  const copy = join(backupDir, DEVICE_SECRET_FILE);
  let outcome: 'restored' | 'kept' = 'kept';
  if (!present(live) && present(copy)) {
    copyFileSync(copy, live);
    outcome = 'restored';
  } else if (!present(live)) {
    writeFileSync(live, randomBytes(SECRET_BYTES).toString('hex') + '\n', { mode: 0o600 });
  }
  copyFileSync(live, copy);
  return outcome;
}

/** Copies the kept secret (if any) next to restored databases, so that they start with it. */
export function copySecretTo(backupDir: string, dir: string): boolean {
  const copy = join(backupDir, DEVICE_SECRET_FILE);
  if (!present(copy)) return false;
  copyFileSync(copy, join(dir, DEVICE_SECRET_FILE));
  return true;
}
