import { freePort, spawnNode, tempDir } from '@mosis/shared';
import { statSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LAUNCHER } from './launcher.js';
import {
  deploymentEnv,
  eventually,
  getJson,
  ingestLoad,
  killTree,
  postJson,
  register,
  started,
  startReplicated,
  stop,
  type Deployment,
} from './testing.js';

// Sustained ingest, with portal writes and analytics reads beside it, must keep both WALs bounded and
// never surface "database is locked": under Litestream (which alone checkpoints, RESTART at 10 000 pages,
// ~40 MiB) and without it (SQLite's autocheckpoint at 1 000 pages).
const LOAD_MS = 15_000;
/**
 * Litestream: its RESTART threshold (10 000 x 4 KiB) plus the writes of its slower sync rounds on a busy
 * machine (measured here: 60-80 MB with this load, 160-220 MB with twice the batch size). With nobody
 * checkpointing, this load grows the WAL past 400 MB. The sharper test is relative: the WAL file never
 * holds more than half of the WAL traffic Litestream copied, so it was restarted and reused.
 */
const WAL_BOUND_LITESTREAM_BYTES = 256 * 1024 * 1024;
/** Without Litestream: autocheckpoint at 1 000 pages (~4 MiB), with room for checkpoints readers delay. */
const WAL_BOUND_PLAIN_BYTES = 32 * 1024 * 1024;
const SAMPLE_INTERVAL_MS = 50;

const dir = tempDir('mosis-wal-');
const running: Deployment[] = [];
afterEach(() => {
  for (const d of running.splice(0)) killTree(d.proc.child.pid);
});
afterAll(() => dir.cleanup());

function walSize(dataDir: string, db: string): number {
  try {
    return statSync(`${dataDir}/${db}-wal`).size;
  } catch {
    return 0;
  }
}

/** Runs ingest load, portal writes and analytics reads together for LOAD_MS; returns what it saw. */
async function sustainedLoad(d: Deployment) {
  const token = await register(d.core, 'load@example.com');
  const app = await postJson(`${d.core}/v1/apps`, { package_id: 'com.example.load', name: 'Load' }, token);
  expect(app.status).toBe(201);
  await eventually('ingest to know the app', async () => {
    const probe = await ingestLoad(d.ingest, 'com.example.load', { batches: 1, batchSize: 1, concurrency: 1 });
    return probe.acked.length === 1;
  });

  const maxWal = { 'portal.db': 0, 'telemetry.db': 0 };
  const dbBytesBefore = statSync(`${d.env.DATA_DIR}/telemetry.db`).size;
  const sampler = setInterval(() => {
    for (const db of ['portal.db', 'telemetry.db'] as const) maxWal[db] = Math.max(maxWal[db], walSize(d.env.DATA_DIR!, db));
  }, SAMPLE_INTERVAL_MS);

  const deadline = Date.now() + LOAD_MS;
  const core: Record<number, number> = {};
  const count = (status: number) => (core[status] = (core[status] ?? 0) + 1);
  const portalWriter = async () => {
    for (let i = 0; Date.now() < deadline; i++) {
      const patch = await fetch(`${d.core}/v1/apps/${app.body.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ description: `revision ${i}` }),
      });
      count(patch.status);
    }
  };
  const today = new Date().toISOString().slice(0, 10);
  const reader = async () => {
    while (Date.now() < deadline) {
      count((await getJson(`${d.core}/v1/apps/${app.body.id}/analytics/daily?from=${today}&to=${today}`, token)).status);
      count((await getJson(`${d.core}/v1/apps/${app.body.id}/crash-groups?from=${today}&to=${today}`, token)).status);
    }
  };
  try {
    const [ingest] = await Promise.all([
      ingestLoad(d.ingest, 'com.example.load', { batches: Infinity, batchSize: 100, concurrency: 6, durationMs: LOAD_MS }),
      portalWriter(),
      reader(),
    ]);
    // Checkpoints copied the WAL into the database file (with none, it would stay at its initial size).
    const checkpointedBytes = statSync(`${d.env.DATA_DIR}/telemetry.db`).size - dbBytesBefore;
    return { ingest, core, maxWal, checkpointedBytes };
  } finally {
    clearInterval(sampler);
  }
}

function expectHealthy(d: Deployment, seen: Awaited<ReturnType<typeof sustainedLoad>>, bound: number) {
  console.log(
    `${seen.ingest.acked.length} events acknowledged in ${LOAD_MS / 1000} s, ingest ${JSON.stringify(seen.ingest.statuses)}, ` +
      `core ${JSON.stringify(seen.core)}, max WAL ${JSON.stringify(seen.maxWal)}, checkpointed ${seen.checkpointedBytes} bytes`,
  );
  expect(seen.ingest.acked.length).toBeGreaterThan(1_000);
  // 503 with Retry-After is the contract's answer to a full queue; anything else would be a failure.
  expect(Object.keys(seen.ingest.statuses).filter((s) => s !== '202' && s !== '503')).toEqual([]);
  expect(Object.keys(seen.core).filter((s) => !['200', '201'].includes(s))).toEqual([]);
  expect(d.proc.output()).not.toMatch(/database is locked|SQLITE_BUSY/i);
  expect(seen.maxWal['telemetry.db']).toBeGreaterThan(0);
  expect(seen.checkpointedBytes).toBeGreaterThan(1024 * 1024);
  expect(seen.maxWal['telemetry.db']).toBeLessThan(bound);
  expect(seen.maxWal['portal.db']).toBeLessThan(bound);
}

describe('WAL under sustained load', () => {
  it('stays bounded under Litestream, with no database-is-locked error in either service', async () => {
    const metricsAddr = `127.0.0.1:${await freePort()}`;
    const env = await deploymentEnv(`${dir.path}/litestream`, { LOG_LEVEL: 'warn', LITESTREAM_METRICS_ADDR: metricsAddr });
    const d = await startReplicated(env);
    running.push(d);
    const seen = await sustainedLoad(d);
    // Every WAL byte the load wrote, as Litestream copied it (a counter of its own).
    const metrics = await (await fetch(`http://${metricsAddr}/metrics`)).text();
    const line = metrics.split('\n').find((l) => l.startsWith(`litestream_total_wal_bytes{db="${env.DATA_DIR}/telemetry.db"}`));
    const walTraffic = Number(line?.split(' ')[1]);
    console.log(`WAL traffic copied by Litestream: ${walTraffic} bytes`);
    expect(seen.maxWal['telemetry.db']).toBeLessThan(walTraffic / 2);
    expect(await stop(d)).toBe(0);
    running.pop();
    expectHealthy(d, seen, WAL_BOUND_LITESTREAM_BYTES);
    expect(d.proc.output()).not.toMatch(/level=ERROR/);
  });

  it('stays bounded without Litestream (npm start), with no database-is-locked error', async () => {
    const env = await deploymentEnv(`${dir.path}/plain`, { LOG_LEVEL: 'warn' });
    const d = await started(spawnNode(LAUNCHER, [], env), env);
    running.push(d);
    const seen = await sustainedLoad(d);
    expect(await stop(d)).toBe(0);
    running.pop();
    expectHealthy(d, seen, WAL_BOUND_PLAIN_BYTES);
  });
});
