import { freePort, openDatabase, spawnNode, tempDir, waitForHttp, type ChildHandle } from '@mosis/shared';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SEMI_SPACE_MIB, LAUNCHER, SERVICES } from './launcher.js';
import { childPids, commandLine, eventually, postJson, register } from './testing.js';

// These run the built services (npm test builds before it tests).
const dir = tempDir();
afterAll(() => dir.cleanup());

const MODES = [
  { mode: 'both services in its own process (the default)', env: {}, children: 0 },
  { mode: 'a child process per service (SERVICES_IN_ONE_PROCESS=false)', env: { SERVICES_IN_ONE_PROCESS: 'false' }, children: 2 },
];

/** Preloaded into every Node process of a launch: SIGUSR2 makes that process throw an uncaught exception, as a bug would. */
const CRASHER = `${dir.path}/crash-on-sigusr2.mjs`;
writeFileSync(CRASHER, "process.on('SIGUSR2', () => setImmediate(() => { throw new Error('crash on purpose (test)'); }));\n");

/** Starts the launcher on fresh ports and data; resolves once both services are ready. */
async function launch(name: string, env: NodeJS.ProcessEnv) {
  const [core, ingest] = [await freePort(), await freePort()];
  const data = `${dir.path}/${name}`;
  const proc = spawnNode(LAUNCHER, [], { DATA_DIR: data, CORE_PORT: String(core), INGEST_PORT: String(ingest), HOST: '127.0.0.1', ...env });
  const coreUrl = `http://127.0.0.1:${core}`;
  const ingestUrl = `http://127.0.0.1:${ingest}`;
  await Promise.all([waitForHttp(`${coreUrl}/readyz`), waitForHttp(`${ingestUrl}/readyz`)]).catch((err) => {
    proc.child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${proc.output()}`);
  });
  return { proc, data, core, ingest, coreUrl, ingestUrl };
}

/** How many services logged their orderly stop (it comes after closing their databases). */
const stops = (proc: ChildHandle) => proc.output().match(/"msg":"stopped"/g)?.length ?? 0;

function events(n: number) {
  return Array.from({ length: n }, () => ({
    event_id: randomUUID(),
    app: 'com.example.drain',
    device_id: 'device-1',
    event_type: 'app_open',
    timestamp: new Date().toISOString(),
    mosis_version: '1.4.2',
  }));
}

function storedEvents(data: string): number {
  const db = openDatabase(`${data}/telemetry.db`, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM telemetry_events').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('launcher', () => {
  it.each(MODES)('runs $mode on an empty data dir and stops both on SIGTERM with exit 0 within 5 s', async ({ mode, env, children }) => {
    const { proc, data, core, ingest } = await launch(`data-${children}`, env);
    try {
      expect(childPids(proc.child.pid!), mode).toHaveLength(children);
      for (const port of [core, ingest]) {
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
        expect(ready.status).toBe(200);
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        expect(metrics).toContain('http_requests_total');
        expect(metrics).toContain('sqlite_wal_bytes');
        const doc = (await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()) as { paths: object };
        expect(Object.keys(doc.paths)).toContain('/healthz');
        const missing = await fetch(`http://127.0.0.1:${port}/no/such/route`);
        expect(missing.status).toBe(404);
        expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
      }
      // Each service keeps its own metrics: core's has no ingest series, ingest's no core series.
      expect(await (await fetch(`http://127.0.0.1:${core}/metrics`)).text()).not.toContain('ingest_queue_depth');
      expect(await (await fetch(`http://127.0.0.1:${ingest}/metrics`)).text()).toContain('ingest_queue_depth');
      expect(existsSync(`${data}/portal.db`)).toBe(true);
      expect(existsSync(`${data}/telemetry.db`)).toBe(true);
    } finally {
      const start = Date.now();
      proc.child.kill('SIGTERM');
      const { code } = await proc.exited;
      expect(code, proc.output()).toBe(0);
      expect(Date.now() - start).toBeLessThan(5_000);
    }
    expect(stops(proc)).toBe(2);
    for (const file of ['portal.db', 'telemetry.db']) {
      const db = openDatabase(`${data}/${file}`, { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
    }
  });

  it.each(MODES)("with $mode, on SIGTERM answers the events waiting in ingest's queue with 202, commits them, and exits 0", async ({ env, children }) => {
    // The longest flush interval (1 s) and a large flush size keep accepted requests waiting for their commit when the signal comes.
    const { proc, data, coreUrl, ingestUrl } = await launch(`drain-${children}`, { ...env, INGEST_FLUSH_INTERVAL_MS: '1000', INGEST_FLUSH_MAX_EVENTS: '100000' });
    try {
      const token = await register(coreUrl, 'drain@example.com');
      expect((await postJson(`${coreUrl}/v1/apps`, { package_id: 'com.example.drain', name: 'Drain' }, token)).status).toBe(201);
      const queued = Array.from({ length: 10 }, () => postJson(`${ingestUrl}/v1/events`, { events: events(2) }));
      await eventually('20 events in the queue', async () => /^ingest_queue_depth\{[^}]*\} 20$/m.test(await (await fetch(`${ingestUrl}/metrics`)).text()));
      proc.child.kill('SIGTERM');
      expect((await Promise.all(queued)).map((r) => r.status)).toEqual(Array(10).fill(202));
      expect((await proc.exited).code, proc.output()).toBe(0);
    } finally {
      proc.child.kill('SIGKILL');
    }
    expect(stops(proc)).toBe(2);
    expect(storedEvents(data)).toBe(20);
  });

  it.each(Object.entries(SERVICES))('%s refuses to start on an invalid variable and names it', async (_name, entry) => {
    const proc = spawnNode(entry, [], { DATA_DIR: `${dir.path}/bad`, CORE_PORT: 'eighty', INGEST_PORT: 'eighty' });
    const { code } = await proc.exited;
    expect(code).toBe(1);
    expect(proc.output()).toMatch(/(CORE_PORT|INGEST_PORT).*"eighty"/);
  });

  it.each(MODES)('with $mode, refuses to start on an invalid variable of either service, names it, and exits 1', async ({ env }) => {
    const bad = spawnNode(LAUNCHER, [], { DATA_DIR: `${dir.path}/bad`, CORE_PORT: String(await freePort()), INGEST_QUEUE_MAX_EVENTS: 'many', ...env });
    expect((await bad.exited).code).toBe(1);
    expect(bad.output()).toMatch(/ingest: invalid configuration[\s\S]*INGEST_QUEUE_MAX_EVENTS.*"many"/);
  });

  it('refuses an invalid SERVICES_IN_ONE_PROCESS, names it, and exits 2', async () => {
    const mode = spawnNode(LAUNCHER, [], { DATA_DIR: `${dir.path}/bad`, SERVICES_IN_ONE_PROCESS: 'maybe' });
    expect((await mode.exited).code).toBe(2);
    expect(mode.output()).toMatch(/SERVICES_IN_ONE_PROCESS.*"maybe"/);
  });

  it('npm start and the image default to the same semi-space as the launcher', () => {
    // Both are shell, so they repeat the default: `npm start` passes the flag itself, the entrypoint to Litestream's -exec.
    const root = new URL('../../../', import.meta.url);
    const start = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).scripts.start as string;
    expect(start).toContain(`node --max-semi-space-size=\${V8_SEMI_SPACE_MIB:-${DEFAULT_SEMI_SPACE_MIB}} packages/ops/dist/launcher.js`);
    expect(readFileSync(new URL('docker/entrypoint.sh', root), 'utf8')).toContain(`SEMI_SPACE_MIB=\${V8_SEMI_SPACE_MIB:-${DEFAULT_SEMI_SPACE_MIB}}\n`);
  });

  it('refuses a V8_SEMI_SPACE_MIB outside 1-64, names it, and exits 2', async () => {
    for (const value of ['0', '65', '1.5']) {
      const bad = spawnNode(LAUNCHER, [], { DATA_DIR: `${dir.path}/bad`, V8_SEMI_SPACE_MIB: value });
      expect((await bad.exited).code, value).toBe(2);
      expect(bad.output()).toMatch(/launcher: invalid configuration[\s\S]*V8_SEMI_SPACE_MIB/);
    }
  });

  it.each(MODES)('with $mode, stops the other service when one fails to start, and exits 1', async ({ env }) => {
    const core = await freePort();
    // Both services on one port: the second to bind fails, and the launcher stops the first.
    const proc = spawnNode(LAUNCHER, [], { DATA_DIR: `${dir.path}/clash`, CORE_PORT: String(core), INGEST_PORT: String(core), HOST: '127.0.0.1', ...env });
    const { code } = await proc.exited;
    expect(code).toBe(1);
    expect(proc.output()).toContain('EADDRINUSE');
    // Whichever bound the port first was stopped in order (its databases closed), not killed.
    expect(stops(proc)).toBe(1);
  });

  it.each(MODES)('with $mode, a crash (an uncaught exception) stops both services and exits 1', async ({ env, children }) => {
    const { proc, data, coreUrl, ingestUrl } = await launch(`crash-${children}`, { ...env, NODE_OPTIONS: `--import=${CRASHER}`, INGEST_FLUSH_INTERVAL_MS: '1000', INGEST_FLUSH_MAX_EVENTS: '100000' });
    try {
      const token = await register(coreUrl, 'crash@example.com');
      expect((await postJson(`${coreUrl}/v1/apps`, { package_id: 'com.example.drain', name: 'Drain' }, token)).status).toBe(201);
      // In one process, what crashes is the process; with children, ingest alone.
      const ingestPid = children ? childPids(proc.child.pid!).find((pid) => commandLine(pid).includes('ingest/dist/main.js'))! : proc.child.pid!;
      const queued = Array.from({ length: 5 }, () => postJson(`${ingestUrl}/v1/events`, { events: events(2) }));
      await eventually('10 events in the queue', async () => /^ingest_queue_depth\{[^}]*\} 10$/m.test(await (await fetch(`${ingestUrl}/metrics`)).text()));
      process.kill(ingestPid, 'SIGUSR2');
      const answers = await Promise.allSettled(queued);
      const { code } = await proc.exited;
      expect(code, proc.output()).toBe(1);
      expect(proc.output()).toContain('crash on purpose (test)');
      if (children) {
        // The crashed child is gone with what it had not acknowledged; the core API stopped in order.
        expect(stops(proc)).toBe(1);
      } else {
        // The process stops both in order: ingest still commits its queue and answers 202.
        expect(answers.map((a) => (a.status === 'fulfilled' ? a.value.status : a.status))).toEqual(Array(5).fill(202));
        expect(stops(proc)).toBe(2);
        expect(storedEvents(data)).toBe(10);
      }
    } finally {
      proc.child.kill('SIGKILL');
    }
  });
});
