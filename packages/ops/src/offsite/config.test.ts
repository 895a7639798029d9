import { ConfigError, tempDir } from '@mosis/shared';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LITESTREAM_CONFIG, OFFSITE_LITESTREAM_CONFIGS, replication, runLitestream } from '../litestream.js';
import { runOps } from '../testing.js';
import { loadOffsite } from './config.js';

const dir = tempDir('mosis-offsite-config-');
afterAll(() => dir.cleanup());
const key = `${dir.path}/id_ed25519`;
writeFileSync(key, 'a key');
writeFileSync(`${dir.path}/known_hosts`, 'nas2 ssh-ed25519 AAAA');

const SFTP = { OFFSITE_SFTP_HOST: 'nas2.local', OFFSITE_SFTP_USER: 'mosis', OFFSITE_SFTP_KEY_PATH: key, OFFSITE_SFTP_PATH: '/backup/mosis/' };
const S3 = {
  OFFSITE_S3_BUCKET: 'mosis',
  OFFSITE_S3_PATH: 'portal-nas',
  OFFSITE_S3_ENDPOINT: 'https://us-001.s3.synologyc2.net',
  LITESTREAM_ACCESS_KEY_ID: 'AKIA',
  LITESTREAM_SECRET_ACCESS_KEY: 'secret',
};

/** The ConfigError's problems for `env`, or [] when it loads. */
function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadOffsite(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('off-site replica config', () => {
  it('none configured: litestream.yml, as before', () => {
    expect(loadOffsite({})).toBeUndefined();
    expect(replication('/data', undefined, {}).configPath).toBe(DEFAULT_LITESTREAM_CONFIG);
  });

  it('SFTP: port 22 and known_hosts beside the key unless given; the SFTP config, unless LITESTREAM_CONFIG says otherwise', () => {
    expect(loadOffsite(SFTP)).toEqual({
      kind: 'sftp',
      host: 'nas2.local',
      port: 22,
      user: 'mosis',
      keyPath: key,
      knownHosts: `${dir.path}/known_hosts`,
      path: '/backup/mosis',
      syncIntervalMs: 60_000,
      label: 'mosis@nas2.local:22:/backup/mosis',
    });
    expect(loadOffsite({ ...SFTP, OFFSITE_SFTP_HOST: '10.0.0.2:2222', OFFSITE_SYNC_INTERVAL_S: '5' })).toMatchObject({ host: '10.0.0.2', port: 2222, syncIntervalMs: 5_000 });
    expect(replication('/data', undefined, SFTP).configPath).toBe(OFFSITE_LITESTREAM_CONFIGS.sftp);
    expect(replication('/data', undefined, { ...SFTP, LITESTREAM_CONFIG: DEFAULT_LITESTREAM_CONFIG }).configPath).toBe(DEFAULT_LITESTREAM_CONFIG);
  });

  it('S3: the S3 config, with the access key required', () => {
    expect(loadOffsite(S3)).toEqual({ kind: 's3', bucket: 'mosis', path: 'portal-nas', label: 's3://mosis/portal-nas' });
    expect(replication('/data', undefined, S3).configPath).toBe(OFFSITE_LITESTREAM_CONFIGS.s3);
  });

  it.each([
    ['a host alone', { OFFSITE_SFTP_HOST: 'nas2' }, ['OFFSITE_SFTP_USER', 'OFFSITE_SFTP_KEY_PATH', 'OFFSITE_SFTP_PATH']],
    ['a key that is not there', { ...SFTP, OFFSITE_SFTP_KEY_PATH: '/nowhere/key' }, ['OFFSITE_SFTP_KEY_PATH: no such file']],
    ['a relative key path', { ...SFTP, OFFSITE_SFTP_KEY_PATH: 'id_ed25519' }, ['OFFSITE_SFTP_KEY_PATH: an absolute path']],
    ['no known_hosts beside the key', { ...SFTP, OFFSITE_SFTP_KEY_PATH: '/etc/hostname' }, ['OFFSITE_SFTP_KNOWN_HOSTS: unset, and its default /etc/known_hosts']],
    ['a quote in the path (it would end the YAML string)', { ...SFTP, OFFSITE_SFTP_PATH: '/a"b' }, ['OFFSITE_SFTP_PATH: no quotes']],
    ['a glob in the path (sftp would expand it)', { ...SFTP, OFFSITE_SFTP_PATH: '/backup/*' }, ['OFFSITE_SFTP_PATH: no quotes']],
    ['a URL as host', { ...SFTP, OFFSITE_SFTP_HOST: 'sftp://nas2' }, ['OFFSITE_SFTP_HOST: a host name']],
    ['an interval of 0 s', { ...SFTP, OFFSITE_SYNC_INTERVAL_S: '0' }, ['OFFSITE_SYNC_INTERVAL_S']],
    ['a bucket without an access key', { OFFSITE_S3_BUCKET: 'mosis', OFFSITE_S3_PATH: 'p' }, ['LITESTREAM_ACCESS_KEY_ID', 'LITESTREAM_SECRET_ACCESS_KEY']],
    ['an endpoint that is not a URL', { ...S3, OFFSITE_S3_ENDPOINT: 'nas2:9000' }, ['OFFSITE_S3_ENDPOINT']],
    ['both kinds', { ...SFTP, ...S3 }, ['set one off-site replica, not both']],
  ])('refuses %s, naming the variable', (_, env, expected) => {
    const found = problems(env);
    for (const e of expected) expect(found.join('\n')).toContain(e);
  });

  it('ops litestream-config prints the config in use; a bad OFFSITE_* is a usage error naming it', async () => {
    const base = { DATA_DIR: `${dir.path}/data` };
    expect((await runOps(['litestream-config'], base)).out).toBe(DEFAULT_LITESTREAM_CONFIG);
    expect((await runOps(['litestream-config'], { ...base, ...SFTP })).out).toBe(OFFSITE_LITESTREAM_CONFIGS.sftp);
    const bad = await runOps(['litestream-config'], { ...base, OFFSITE_SFTP_HOST: 'nas2' });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('OFFSITE_SFTP_USER');
  });

  it.each([
    ['sftp', SFTP],
    ['s3', S3],
  ] as const)('Litestream reads litestream-offsite-%s.yml: both databases, a local and an off-site replica', async (kind, env) => {
    const r = replication(`${dir.path}/data`, undefined, { ...env, BACKUP_DIR: `${dir.path}/backups` });
    const res = await runLitestream(r, 'databases', []);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`${dir.path}/data/portal.db\\s+file,offsite`));
    expect(res.stdout).toMatch(new RegExp(`${dir.path}/data/telemetry.db\\s+file,offsite`));
  });

  it.each(['sftp', 's3'] as const)('litestream-offsite-%s.yml is litestream.yml plus the off-site replicas (the two cannot drift)', (kind) => {
    const body = (text: string) => text.slice(text.indexOf('\ndbs:'));
    const withoutOffsite = body(readFileSync(OFFSITE_LITESTREAM_CONFIGS[kind], 'utf8')).replace(/\n      - name: offsite\n(        .*\n)+/g, '\n');
    expect(withoutOffsite).toBe(body(readFileSync(DEFAULT_LITESTREAM_CONFIG, 'utf8')));
  });
});
