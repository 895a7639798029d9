import { freePort, tempDir } from '@mosis/shared';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { litestreamBinary } from './litestream.js';
import { nodeFlags } from './launcher.js';
import { childPids, commandLine, createKey, deploymentEnv, killTree, postJson, register, spawnEntrypoint, started, stop, type Deployment } from './testing.js';

// The image's start-up script, run here with the real Litestream binary and temporary volumes.
const HEALTHCHECK = fileURLToPath(new URL('../../../docker/healthcheck.mjs', import.meta.url));
const dir = tempDir('mosis-entrypoint-');
let running: Deployment | undefined;
afterEach(() => {
  killTree(running?.proc.child.pid);
  running = undefined;
});
afterAll(() => dir.cleanup());

function healthcheck(env: NodeJS.ProcessEnv): number | null {
  return spawnSync(process.execPath, [HEALTHCHECK], { env: { ...process.env, ...env } }).status;
}

describe('docker/entrypoint.sh', () => {
  let env: NodeJS.ProcessEnv;
  let token: string;

  it('starts both services under Litestream on empty volumes; SIGTERM to it (PID 1 in the image) stops cleanly', async () => {
    const metricsAddr = `127.0.0.1:${await freePort()}`;
    env = await deploymentEnv(dir.path, { LITESTREAM_BIN: litestreamBinary(), LITESTREAM_METRICS_ADDR: metricsAddr });
    running = await started(spawnEntrypoint(env), env);
    expect(running.proc.output()).toContain('entrypoint: portal.db is new');
    expect(healthcheck(env)).toBe(0);
    // Litestream (the entrypoint, exec'd) runs the launcher with the services' Node flags.
    const [launcher] = childPids(running.proc.child.pid!);
    expect(commandLine(launcher!)).toMatch(new RegExp(`^node ${nodeFlags(env).join(' ')} \\S+/launcher\\.js$`));
    // Litestream's own metrics, when LITESTREAM_METRICS_ADDR is set.
    const metrics = await (await fetch(`http://${metricsAddr}/metrics`)).text();
    expect(metrics).toContain(`litestream_sync_error_count{db="${env.DATA_DIR}/telemetry.db"}`);
    token = await register(running.core, 'nas@example.com');
    await createKey(running.core, token, 'before the restore');

    expect(await stop(running), running.proc.output()).toBe(0);
    expect(running.proc.output()).toContain('litestream shut down');
    expect(healthcheck(env)).toBe(1);
  });

  it('stops before anything else, naming the variable, when the off-site replica is half configured', async () => {
    const bad = spawnEntrypoint({ ...env, OFFSITE_SFTP_HOST: 'nas2.local' });
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toContain('OFFSITE_SFTP_USER');
    expect(bad.output()).not.toContain('entrypoint:');
  });

  it('stops before anything else, naming it, on a V8_SEMI_SPACE_MIB that is not a number', async () => {
    const bad = spawnEntrypoint({ ...env, V8_SEMI_SPACE_MIB: '4m' });
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toContain('entrypoint: V8_SEMI_SPACE_MIB must be a whole number');
    expect(bad.output()).not.toContain('4m');
    expect(bad.output()).not.toContain('restored');
  });

  it('restores both databases from the replicas when the data volume is lost, ignoring stale leftovers', async () => {
    const secret = readFileSync(`${env.BACKUP_DIR}/device-hash.secret`, 'utf8');
    expect(secret).toMatch(/^[0-9a-f]{64}\n$/);
    rmSync(env.DATA_DIR!, { recursive: true });
    mkdirSync(env.DATA_DIR!);
    writeFileSync(`${env.DATA_DIR}/portal.db-wal`, 'stale WAL of a database that is gone');
    running = await started(spawnEntrypoint(env), env);
    expect(running.proc.output()).toContain('entrypoint: portal.db restored from its replica');
    expect(running.proc.output()).toContain('entrypoint: telemetry.db restored from its replica');
    // The device-hash secret came back from beside the replicas, and ingest uses it (made no other).
    expect(running.proc.output()).toContain('entrypoint: device-hash.secret restored');
    expect(readFileSync(`${env.DATA_DIR}/device-hash.secret`, 'utf8')).toBe(secret);
    expect(readdirSync(env.DATA_DIR!).filter((f) => f.includes('secret'))).toEqual(['device-hash.secret']);
    const login = await postJson(`${running.core}/v1/auth/login`, { email: 'nas@example.com', password: 'correct horse battery staple' });
    expect(login.status).toBe(200);
    const keys = await fetch(`${running.core}/v1/api-keys`, { headers: { authorization: `Bearer ${login.body.token}` } });
    expect(JSON.stringify(await keys.json())).toContain('before the restore');
    expect(await stop(running)).toBe(0);
  });
});
