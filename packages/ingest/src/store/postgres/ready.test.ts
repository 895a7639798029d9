import { createLogger, tempDir } from '@mosis/shared';
import { once } from 'node:events';
import { createServer, connect, Socket, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createIngest } from '../../app.js';
import { loadIngestConfig } from '../../config.js';
import { openTelemetry, type PgTelemetryBackend } from '../backend.js';
import { openPgReadiness } from './ready.js';
import { createTestPgDatabase, describePg, type TestPgDatabase } from './testing.js';

/**
 * /readyz on PostgreSQL answers within PG_READY_TIMEOUT_MS when the server accepts connections but never
 * answers (hung, or a half-dead network path), not after the pool's connect timeout. The server here is a
 * real TCP proxy in front of the test PostgreSQL that, once hung, forwards nothing and answers no one.
 * No timing assertion: vitest's test timeout (shorter than the pool's 10 s connect timeout) bounds it.
 */

/** Below the pool's 10 s connect timeout, with room for three probes of 1.5 s on a loaded machine. */
const TEST_TIMEOUT_MS = 8_000;

/** A TCP proxy to `target` that `hang()` turns into a server that accepts and never writes. */
async function hangableProxy(target: URL): Promise<{ port: number; hang(): void; close(): Promise<void> }> {
  let hung = false;
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  };
  // Half-open allowed: once hung, a FIN from the probe's side is not answered either, as by a stopped server
  // (the kernel acknowledges it; the process never closes its end).
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    track(client);
    if (hung) return;
    const upstream = connect(Number(target.port), target.hostname);
    track(upstream);
    client.on('data', (d) => void (!hung && upstream.write(d)));
    upstream.on('data', (d) => void (!hung && client.write(d)));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => hung || client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    hang: () => void (hung = true),
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** This process's TCP sockets still open to 127.0.0.1:`port`. */
function socketsTo(port: number): number {
  // process.getActiveResourcesInfo() names the kinds only; the handles themselves say where they go.
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h) => h instanceof Socket && h.remotePort === port && !h.destroyed).length;
}

describePg('readiness on PostgreSQL', () => {
  let db: TestPgDatabase;
  let proxy: Awaited<ReturnType<typeof hangableProxy>>;
  let backend: PgTelemetryBackend;
  let ingest: ReturnType<typeof createIngest>;
  const dir = tempDir('mosis-ingest-ready-');
  const log = createLogger('ingest', 'silent');
  beforeAll(async () => {
    db = await createTestPgDatabase();
    proxy = await hangableProxy(new URL(db.url));
    const url = new URL(db.url);
    url.port = String(proxy.port);
    const config = loadIngestConfig({ DATA_DIR: dir.path, LOG_LEVEL: 'silent', TELEMETRY_DATABASE_URL: url.toString() });
    // Migrated and partitioned through the proxy.
    backend = (await openTelemetry(config, { log })) as PgTelemetryBackend;
    ingest = createIngest({ config, postgres: backend, log });
  });
  afterAll(async () => {
    // The hung connections end with the proxy; then the service's own close can finish.
    await proxy?.close();
    await ingest?.close();
    await backend?.close();
    await db?.drop();
    dir.cleanup();
  });

  it('a server that accepts but never answers: not ready, answered within the bound', { timeout: TEST_TIMEOUT_MS }, async () => {
    const silent = createServer((s) => void s.on('error', () => {}));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const readiness = openPgReadiness(`postgres://u:p@127.0.0.1:${(silent.address() as AddressInfo).port}/x`, { applicationName: 'mosis-test-ready' });
    try {
      expect(await readiness.ready()).toBe(false);
      // Again: the hung connection attempt did not keep the probe's one slot.
      expect(await readiness.ready()).toBe(false);
    } finally {
      await readiness.close();
      silent.close();
    }
  });

  it('/readyz answers 503 once the server hangs, also on the connection the probe already holds', { timeout: TEST_TIMEOUT_MS }, async () => {
    const ok = await ingest.app.request('/readyz');
    expect(ok.status).toBe(200);
    proxy.hang();
    const hung = await ingest.app.request('/readyz');
    expect(hung.status).toBe(503);
    expect(await hung.json()).toMatchObject({ status: 'unavailable', checks: { telemetry_pg: false } });
    // Each probe is bounded, not only the first (this one connects anew, to a server that never answers).
    expect((await ingest.app.request('/readyz')).status).toBe(503);
  });

  it('a probe given up on leaves no socket behind, also when the server never closes its end', { timeout: TEST_TIMEOUT_MS }, async () => {
    const own = await hangableProxy(new URL(db.url));
    const url = new URL(db.url);
    url.port = String(own.port);
    const readiness = openPgReadiness(url.toString(), { applicationName: 'mosis-test-ready' });
    try {
      expect(await readiness.ready()).toBe(true);
      own.hang();
      // The connection kept from the first probe: its query never answered.
      expect(await readiness.ready()).toBe(false);
      // A new one: connected, its startup never answered.
      expect(await readiness.ready()).toBe(false);
      // A connection only ended (FIN sent) stays open for as long as the server does not close its end: one
      // more file descriptor per probe, every 10 s from a health check, while the server hangs.
      await expect.poll(() => socketsTo(own.port), { interval: 50, timeout: 3_000 }).toBe(0);
    } finally {
      await own.close();
      await readiness.close();
    }
  });
});
