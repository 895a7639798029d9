import { spawnNode, tempDir } from '@mosis/shared';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LAUNCHER } from './launcher.js';
import { deploymentEnv, getJson, killTree, postJson, register, runOps, started, startReplicated, stop, type Deployment } from './testing.js';

// Packages in backups: uploaded through the real core API under `ops replicate`, copied to
// BACKUP_DIR/packages as they are stored, brought back by `ops restore` and checked by `ops restore-drill`.
const dir = tempDir('mosis-packages-backup-');
const running: Deployment[] = [];
afterEach(() => {
  for (const d of running.splice(0)) killTree(d.proc.child.pid);
});
afterAll(() => dir.cleanup());

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const at = (root: string, hash: string) => `${root}/packages/${hash.slice(0, 2)}/${hash}`;
const NO_SCHEDULE = { ROLLUP_SCHEDULE: '0 0 1 1 *', PRUNE_SCHEDULE: '0 0 1 1 *', LOG_LEVEL: 'warn' };

/** A developer with a signing key, publishing `bytes` as version 1 of a new app `packageId`. */
async function publish(d: Deployment, token: string, privateKey: ReturnType<typeof generateKeyPairSync>['privateKey'], packageId: string, bytes: Buffer) {
  const app = await postJson(`${d.core}/v1/apps`, { package_id: packageId, name: packageId }, token);
  expect(app.status).toBe(201);
  const signature = sign(null, createHash('sha256').update(bytes).digest(), privateKey).toString('base64');
  const version = await postJson(`${d.core}/v1/apps/${app.body.id}/versions`, { version_code: 1, version_name: '1.0', package_size: bytes.length, signature }, token);
  expect(version.status).toBe(201);
  const upload = await fetch(`${d.core}/v1/apps/${app.body.id}/versions/1/package`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  expect(upload.status, await upload.clone().text()).toBe(200);
  expect((await postJson(`${d.core}/v1/apps/${app.body.id}/versions/1/submit`, {}, token)).status).toBe(200);
  for (const step of ['approve', 'publish']) {
    const res = await runOps(['review', step, packageId, '1'], d.env);
    expect(res.code, res.output).toBe(0);
  }
}

async function download(d: Deployment, packageId: string): Promise<Buffer> {
  const res = await fetch(`${d.core}/v1/catalog/apps/${packageId}/versions/1/package`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('package backups', () => {
  it('restores the packages with the databases, and the drill names a corrupted or missing backup copy', async () => {
    const env = await deploymentEnv(dir.path, NO_SCHEDULE);
    const live = await startReplicated(env);
    running.push(live);
    const token = await register(live.core, 'publisher@example.com');
    const me = await getJson(`${live.core}/v1/me`, token);
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const proof = sign(null, Buffer.from(`mosis-signing-key:${me.body.id}`), privateKey).toString('base64');
    const key = await postJson(`${live.core}/v1/signing-keys`, { name: 'release', public_key: publicKey.export({ type: 'spki', format: 'pem' }), proof }, token);
    expect(key.status).toBe(201);

    const shared = randomBytes(300 * 1024);
    const own = randomBytes(100 * 1024);
    await publish(live, token, privateKey, 'com.backup.one', shared);
    await publish(live, token, privateKey, 'com.backup.two', shared);
    await publish(live, token, privateKey, 'com.backup.three', own);
    // Copied once, when stored.
    for (const bytes of [shared, own]) expect(readFileSync(at(env.BACKUP_DIR!, sha256(bytes)))).toEqual(bytes);
    expect(await stop(live), live.proc.output()).toBe(0);
    running.pop();

    const restoredDir = `${dir.path}/restored`;
    const restore = await runOps(['restore', '--to', restoredDir], env);
    expect(restore.code, restore.output).toBe(0);
    expect(restore.output).toContain('packages: 2 of 2 ok');
    for (const bytes of [shared, own]) expect(readFileSync(at(restoredDir, sha256(bytes)))).toEqual(bytes);

    // The services on the restored data serve the same bytes.
    const restoredEnv = await deploymentEnv(dir.path, { ...NO_SCHEDULE, DATA_DIR: restoredDir, BACKUP_DIR: `${dir.path}/backups-after` });
    const again = await started(spawnNode(LAUNCHER, [], restoredEnv), restoredEnv);
    running.push(again);
    expect(await download(again, 'com.backup.two')).toEqual(shared);
    expect(await download(again, 'com.backup.three')).toEqual(own);
    expect(await stop(again)).toBe(0);
    running.pop();

    const healthy = await runOps(['restore-drill', '--max-lag', '100000'], env);
    expect(healthy.code, healthy.output).toBe(0);
    expect(healthy.output).toContain('packages: 2 of 2 ok');

    // A backup copy whose bytes changed (bit rot, a bad disk), and one that is gone.
    const corrupted = at(env.BACKUP_DIR!, sha256(shared));
    const bytes = readFileSync(corrupted);
    bytes[1234] = bytes[1234]! ^ 0xff;
    writeFileSync(corrupted, bytes);
    rmSync(at(env.BACKUP_DIR!, sha256(own)));
    const drill = await runOps(['restore-drill', '--max-lag', '100000'], env);
    expect(drill.code, drill.output).toBe(1);
    expect(drill.output).toContain(`corrupted ${sha256(shared)}: used by com.backup.one 1 (published), com.backup.two 1 (published)`);
    expect(drill.output).toContain(`missing ${sha256(own)}: used by com.backup.three 1 (published)`);
    expect(drill.output).toContain('drill FAILED');

    const broken = await runOps(['restore', '--to', `${dir.path}/restored-broken`], env);
    expect(broken.code, broken.output).toBe(1);
    expect(broken.output).toContain(`corrupted ${sha256(shared)}`);
    expect(broken.output).toContain('restore INCOMPLETE');
    // A corrupted copy is never put where the service would serve it.
    expect(existsSync(at(`${dir.path}/restored-broken`, sha256(shared)))).toBe(false);
  });
});
