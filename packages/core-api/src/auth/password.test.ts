import { describe, expect, it } from 'vitest';
import { TEST_SCRYPT } from '../test-app.js';
import { hashPassword, passwordHasher, verifyPassword } from './password.js';

describe('password hashing', () => {
  it('stores scrypt with its parameters and a per-password salt, never the password', async () => {
    const a = await hashPassword('hunter2hunter2', TEST_SCRYPT);
    const b = await hashPassword('hunter2hunter2', TEST_SCRYPT);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('hunter2');
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const h = await hashPassword('correct horse', TEST_SCRYPT);
    expect(await verifyPassword('correct horse', h)).toBe(true);
    expect(await verifyPassword('correct hors', h)).toBe(false);
  });

  it('verifies hashes made with the production parameters', async () => {
    const h = await hashPassword('default cost');
    expect(h.startsWith('scrypt$16384$8$1$')).toBe(true);
    expect(await verifyPassword('default cost', h)).toBe(true);
  });

  it.each([undefined, null, '', 'plain', 'scrypt$99999999$8$1$aa$bb', 'scrypt$1024$8$1$$'])(
    'answers false (after hashing anyway) for an unusable stored hash %s',
    async (stored) => {
      expect(await verifyPassword('anything', stored)).toBe(false);
    },
  );
});

describe('passwordHasher', () => {
  it('hashes with its parameters and refuses unknown accounts with a dummy of the same parameters', async () => {
    const hasher = passwordHasher(TEST_SCRYPT);
    const h = await hasher.hash('pass phrase');
    expect(h.startsWith('scrypt$1024$')).toBe(true);
    expect(await hasher.verify('pass phrase', h)).toBe(true);
    expect(await hasher.verify('pass phrase', undefined)).toBe(false);
  });
});
