import { tempDir } from '@mosis/shared';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeviceHasher, DEVICE_SECRET_FILE, loadDeviceSecret, readDeviceSecret } from './device-hash.js';

describe('device hash', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it('generates a secret on first start, keeps it private, and reuses it after', () => {
    const first = loadDeviceSecret(dir.path);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(join(dir.path, DEVICE_SECRET_FILE)).mode & 0o077).toBe(0);
    expect(loadDeviceSecret(dir.path)).toBe(first);
    expect(readFileSync(join(dir.path, DEVICE_SECRET_FILE), 'utf8').trim()).toBe(first);
  });

  it('prefers DEVICE_HASH_SECRET when given', () => {
    expect(loadDeviceSecret(dir.path, 'x'.repeat(40))).toBe('x'.repeat(40));
  });

  it('a reader (the core API) never creates the secret: none until ingest made it, then the same one', () => {
    const fresh = tempDir();
    try {
      expect(readDeviceSecret(fresh.path)).toBeUndefined();
      expect(existsSync(join(fresh.path, DEVICE_SECRET_FILE))).toBe(false);
      writeFileSync(join(fresh.path, DEVICE_SECRET_FILE), ''); // created by ingest, not written yet
      expect(readDeviceSecret(fresh.path)).toBeUndefined();
      const made = loadDeviceSecret(dir.path);
      writeFileSync(join(fresh.path, DEVICE_SECRET_FILE), `${made}\n`);
      expect(readDeviceSecret(fresh.path)).toBe(made);
      expect(readDeviceSecret(fresh.path, 'x'.repeat(40))).toBe('x'.repeat(40));
    } finally {
      fresh.cleanup();
    }
  });

  it('hashes the same id the same way across instances, and differently under another secret', () => {
    const a = new DeviceHasher('s'.repeat(32));
    const b = new DeviceHasher('s'.repeat(32));
    const other = new DeviceHasher('t'.repeat(32));
    expect(a.hash('device-1')).toBe(b.hash('device-1'));
    expect(a.hash('device-1')).toBe(a.hash('device-1'));
    expect(a.hash('device-1')).not.toBe(a.hash('device-2'));
    expect(a.hash('device-1')).not.toBe(other.hash('device-1'));
    expect(typeof a.hash('device-1')).toBe('bigint');
  });
});
