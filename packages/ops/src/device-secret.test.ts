import { tempDir } from '@mosis/shared';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { copySecretTo, DEVICE_SECRET_FILE, keepSecretWithBackups } from './device-secret.js';

const dir = tempDir('mosis-secret-');
afterAll(() => dir.cleanup());
let n = 0;

/** A fresh data and backup directory, each optionally holding a secret. */
function dirs(live?: string, copy?: string) {
  const root = `${dir.path}/${n++}`;
  const data = `${root}/data`;
  const backups = `${root}/backups`;
  mkdirSync(data, { recursive: true });
  mkdirSync(backups, { recursive: true });
  if (live) writeFileSync(`${data}/${DEVICE_SECRET_FILE}`, live);
  if (copy) writeFileSync(`${backups}/${DEVICE_SECRET_FILE}`, copy);
  const read = (d: string) => (existsSync(`${d}/${DEVICE_SECRET_FILE}`) ? readFileSync(`${d}/${DEVICE_SECRET_FILE}`, 'utf8') : undefined);
  return { data, backups, live: () => read(data), copy: () => read(backups) };
}

describe('device-hash secret kept beside the replicas', () => {
  it('generates one (64 hex chars, mode 600) and copies it when there is none', () => {
    const d = dirs();
    expect(keepSecretWithBackups(d.data, d.backups, {})).toBe('kept');
    expect(d.live()).toMatch(/^[0-9a-f]{64}\n$/);
    expect(d.copy()).toBe(d.live());
    expect(statSync(`${d.data}/${DEVICE_SECRET_FILE}`).mode & 0o777).toBe(0o600);
  });

  it('copies the live secret over the backup copy', () => {
    const d = dirs('live-secret', 'older-copy');
    expect(keepSecretWithBackups(d.data, d.backups, {})).toBe('kept');
    expect(d.copy()).toBe('live-secret');
  });

  it('restores the secret from the backups when the data directory lost it', () => {
    const d = dirs(undefined, 'kept-secret');
    expect(keepSecretWithBackups(d.data, d.backups, {})).toBe('restored');
    expect(d.live()).toBe('kept-secret');
  });

  it('does nothing when DEVICE_HASH_SECRET is configured', () => {
    const d = dirs();
    expect(keepSecretWithBackups(d.data, d.backups, { DEVICE_HASH_SECRET: 'x'.repeat(32) })).toBe('configured');
    expect(d.live()).toBeUndefined();
    expect(d.copy()).toBeUndefined();
  });

  it('copies the kept secret next to restored databases, when there is one', () => {
    const d = dirs(undefined, 'kept-secret');
    expect(copySecretTo(d.backups, d.data)).toBe(true);
    expect(d.live()).toBe('kept-secret');
    expect(copySecretTo(dirs().backups, d.data)).toBe(false);
  });
});
