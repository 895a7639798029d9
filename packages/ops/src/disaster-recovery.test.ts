import { openDatabase, spawnNode, tempDir } from '@mosis/shared';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LAUNCHER } from './launcher.js';
import { checkDatabase } from './database-check.js';
import {
  createKey,
  deploymentEnv,
  eventually,
  getJson,
  ingestLoad,
  killTree,
  postJson,
  register,
  runOps,
  started,
  startReplicated,
  stop,
  tableContents,
  type Deployment,
} from './testing.js';

// The acceptance test: both services under `litestream replicate -exec` (real binary), a developer,
// an app, events under load; stop; restore both databases to a new directory; integrity ok, every
// acknowledged event and every portal row there; the services start on the restored data and answer the same.
const dir = tempDir('mosis-dr-');
const running: Deployment[] = [];
afterEach(() => {
  for (const d of running.splice(0)) killTree(d.proc.child.pid);
});
afterAll(() => dir.cleanup());

/** Runs an ops command in-process with `env` laid over the environment (stdout and stderr in `output`). */
const ops = (env: NodeJS.ProcessEnv, ...argv: string[]) => runOps(argv, env);

/** Scheduled jobs off, so that the answers before and after the restore can only differ by data. */
const NO_SCHEDULE = { ROLLUP_SCHEDULE: '0 0 1 1 *', PRUNE_SCHEDULE: '0 0 1 1 *', LOG_LEVEL: 'warn' };
const today = new Date().toISOString().slice(0, 10);

/** The answers a developer gets, read with their session: compared before the stop and after the restore. */
async function answers(d: Deployment, token: string, appId: string) {
  const paths = [
    '/v1/me',
    '/v1/apps',
    `/v1/apps/${appId}`,
    '/v1/api-keys',
    '/v1/audit-logs?limit=100',
    `/v1/apps/${appId}/analytics/daily?from=${today}&to=${today}`,
    `/v1/apps/${appId}/crash-groups?from=${today}&to=${today}`,
  ];
  const out: Record<string, unknown> = {};
  for (const path of paths) {
    const res = await getJson(`${d.core}${path}`, token);
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(200);
    out[path] = res.body;
  }
  return out;
}

describe('disaster recovery with Litestream', () => {
  it('restores both databases with every acknowledged event and every portal row; the services answer the same', async () => {
    const env = await deploymentEnv(dir.path, NO_SCHEDULE);
    const live = await startReplicated(env);
    running.push(live);

    const token = await register(live.core, 'owner@example.com');
    const app = await postJson(`${live.core}/v1/apps`, { package_id: 'com.example.drill', name: 'Drill' }, token);
    expect(app.status).toBe(201);
    await createKey(live.core, token, 'ci');
    // Ingest learns about new apps from portal.db within its cache refresh: probe until it accepts.
    await eventually('ingest to know the app', async () => {
      const probe = await ingestLoad(live.ingest, 'com.example.drill', { batches: 1, batchSize: 1, concurrency: 1 });
      return probe.acked.length === 1;
    });

    const load = await ingestLoad(live.ingest, 'com.example.drill', { batches: 500, batchSize: 40, concurrency: 8, durationMs: 30_000 });
    expect(load.statuses[500]).toBeUndefined();
    expect(load.acked.length).toBeGreaterThan(1_000);
    const crashes = Array.from({ length: 10 }, (_, i) => ({
      crash_id: randomUUID(),
      app: 'com.example.drill',
      app_version: '1.0.0',
      device_id: `device-${i}`,
      crash_type: 'native_signal',
      message: 'SIGSEGV',
      stack_trace: `#0 0x0000 in render_frame (renderer.c:${i % 2 ? 42 : 43})\n#1 0x0001 in main_loop (main.c:7)`,
      timestamp: new Date().toISOString(),
    }));
    expect((await postJson(`${live.ingest}/v1/crashes`, { crashes })).status).toBe(202);
    // Aggregates for the analytics answers, as the scheduled rollup would produce them.
    const rollup = await ops(env, 'rollup');
    expect(rollup.code, rollup.output).toBe(0);
    const before = await answers(live, token, app.body.id);
    // A last burst acknowledged just before the signal (raw events only: the answers above stay valid),
    // well inside Litestream's 1 s sync interval: only its last sync can carry it.
    const burst = await ingestLoad(live.ingest, 'com.example.drill', { batches: 20, batchSize: 50, concurrency: 4 });
    const acked = [...load.acked, ...burst.acked];
    console.log(`load: ${load.acked.length} events acknowledged (${JSON.stringify(load.statuses)}), burst ${burst.acked.length}`);

    expect(await stop(live), live.proc.output()).toBe(0);
    running.pop();

    const restoredDir = `${dir.path}/restored`;
    const restore = await ops(env, 'restore', '--to', restoredDir);
    expect(restore.code, restore.output).toBe(0);
    for (const file of ['portal.db', 'telemetry.db']) {
      expect(checkDatabase(`${restoredDir}/${file}`).integrity).toBe('ok');
      // Every row of every table, exactly: the final sync left nothing behind.
      expect(tableContents(`${restoredDir}/${file}`), file).toEqual(tableContents(`${env.DATA_DIR}/${file}`));
    }
    const telemetry = openDatabase(`${restoredDir}/telemetry.db`, { readonly: true });
    const stored = new Set(telemetry.prepare('SELECT lower(hex(event_id)) FROM telemetry_events').pluck().all() as string[]);
    telemetry.close();
    const missing = acked.filter((id) => !stored.has(id.replaceAll('-', '')));
    expect(missing, `${missing.length} of ${acked.length} acknowledged events missing`).toEqual([]);

    // The restored copy serves the same answers (plain launcher: this is `npm start` on the restored data).
    const restoredEnv = await deploymentEnv(dir.path, { ...NO_SCHEDULE, DATA_DIR: restoredDir });
    const again = await started(spawnNode(LAUNCHER, [], restoredEnv), restoredEnv);
    running.push(again);
    expect(await answers(again, token, app.body.id)).toEqual(before);
    expect(await stop(again)).toBe(0);
    running.pop();
  });
});
