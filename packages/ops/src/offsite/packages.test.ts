import { tempDir } from '@mosis/shared';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killTree, offsiteEnv, sshdBinary, startSshd, writePackage, type SshServer } from '../testing.js';
import { loadOffsite, type SftpOffsite } from './config.js';
import { restoreFromOffsite, syncToOffsite } from './packages.js';

// Package files and the device-hash secret to and from the off-site SFTP replica, through a real sshd on
// 127.0.0.1. Without sshd installed this is skipped, unless MOSIS_REQUIRE_SSHD=1 (CI) makes it a failure.
const sshd = sshdBinary();
const required = process.env.MOSIS_REQUIRE_SSHD === '1';
if (!sshd && !required) console.log('offsite package tests skipped: sshd is not installed (Debian: apt-get install openssh-server)');

const dir = tempDir('mosis-offsite-packages-');
let server: SshServer;
let offsite: SftpOffsite;
const data = join(dir.path, 'data');
const far = join(dir.path, 'nas2', 'mosis offsite'); // a space, as DSM folder names may have

beforeAll(async () => {
  if (!sshd) throw new Error('MOSIS_REQUIRE_SSHD=1 but sshd is not installed (apt-get install openssh-server)');
  server = await startSshd(sshd, join(dir.path, 'sshd'));
  offsite = loadOffsite(offsiteEnv(server, far)) as SftpOffsite;
});
afterAll(() => {
  killTree(server?.proc.child.pid);
  dir.cleanup();
});

/** Every file under `root`, relative, sorted. */
function files(root: string): string[] {
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort();
}

describe.skipIf(!sshd && !required)('off-site package files over SFTP', () => {
  const hashes: string[] = [];

  it('uploads each package file the far side lacks, under the same layout, and the secret; nothing else', async () => {
    hashes.push(writePackage(data, 'package one'), writePackage(data, Buffer.alloc(300_000, 7)), writePackage(data, 'package three'));
    // Not package files: a name that is not its content's hash, a temp file, a stray file.
    const wrong = createHash('sha256').update('something else').digest('hex');
    mkdirSync(join(data, 'packages', wrong.slice(0, 2)), { recursive: true });
    writeFileSync(join(data, 'packages', wrong.slice(0, 2), wrong), 'not what the name says');
    mkdirSync(join(data, 'packages', '.tmp'), { recursive: true });
    writeFileSync(join(data, 'packages', '.tmp', 'upload-in-progress'), 'half');
    writeFileSync(join(data, 'packages', 'README'), 'stray');
    writeFileSync(join(data, 'device-hash.secret'), 'ab'.repeat(32) + '\n');

    const res = await syncToOffsite(offsite, data);
    expect(res.uploaded.sort()).toEqual([...hashes].sort());
    expect(res.invalid).toEqual([join(data, 'packages', wrong.slice(0, 2), wrong)]);
    expect(res.secret).toBe('uploaded');
    expect(files(far)).toEqual([...hashes.map((h) => `packages/${h.slice(0, 2)}/${h}`), 'device-hash.secret'].sort());
    for (const h of hashes) expect(readFileSync(join(far, 'packages', h.slice(0, 2), h))).toEqual(readFileSync(join(data, 'packages', h.slice(0, 2), h)));
    expect(readFileSync(join(far, 'device-hash.secret'), 'utf8')).toBe('ab'.repeat(32) + '\n');
  });

  it('a second pass copies nothing; a new file and a changed secret are copied alone', async () => {
    const again = await syncToOffsite(offsite, data, { skip: new Set([]) });
    expect(again).toMatchObject({ uploaded: [], secret: 'unchanged', offsite: 3 });
    hashes.push(writePackage(data, 'package four'));
    writeFileSync(join(data, 'device-hash.secret'), 'cd'.repeat(32) + '\n');
    const more = await syncToOffsite(offsite, data);
    expect(more).toMatchObject({ uploaded: [hashes[3]], secret: 'uploaded', offsite: 4 });
    expect(readFileSync(join(far, 'device-hash.secret'), 'utf8')).toBe('cd'.repeat(32) + '\n');
  });

  it('restores every package file into an empty directory, with the secret when asked', async () => {
    const to = join(dir.path, 'restored');
    const res = await restoreFromOffsite(offsite, to, { secret: true });
    expect(res).toMatchObject({ restored: 4, invalid: [], secret: true });
    expect(files(to)).toEqual([...hashes.map((h) => `packages/${h.slice(0, 2)}/${h}`), 'device-hash.secret'].sort());
    for (const h of hashes) expect(readFileSync(join(to, 'packages', h.slice(0, 2), h))).toEqual(readFileSync(join(data, 'packages', h.slice(0, 2), h)));
    // Nothing left to fetch the second time.
    expect(await restoreFromOffsite(offsite, to, { secret: true })).toMatchObject({ restored: 0, secret: false });
  });

  it('leaves out a file damaged on the far side, and keeps the secret out unless asked', async () => {
    const damaged = hashes[0]!;
    writeFileSync(join(far, 'packages', damaged.slice(0, 2), damaged), 'bit rot');
    const to = join(dir.path, 'restored-2');
    const res = await restoreFromOffsite(offsite, to, { secret: false });
    expect(res).toMatchObject({ restored: 3, invalid: [damaged], secret: false });
    expect(files(to)).toEqual(hashes.slice(1).map((h) => `packages/${h.slice(0, 2)}/${h}`).sort());
  });

  it('refuses a host whose key is not the one in known_hosts (Litestream 0.3.13 would not notice)', async () => {
    const impostor = { ...offsite, knownHosts: server.wrongKnownHosts };
    await expect(syncToOffsite(impostor, data)).rejects.toThrow(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
    await expect(restoreFromOffsite(impostor, join(dir.path, 'restored-3'), { secret: true })).rejects.toThrow(/Host key verification failed|IDENTIFICATION HAS CHANGED/);
  });
});
