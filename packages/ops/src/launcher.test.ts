import { freePort, openDatabase, spawnNode, tempDir, waitForHttp } from '@mosis/shared';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SERVICES } from './launcher.js';

// These run the built services (npm test builds before it tests).
const LAUNCHER = fileURLToPath(new URL('../dist/launcher.js', import.meta.url));
const dir = tempDir();
afterAll(() => dir.cleanup());

describe('launcher', () => {
  it('starts both services on an empty data dir and stops both on SIGTERM with exit 0 within 5 s', async () => {
    const [core, ingest] = [await freePort(), await freePort()];
    const data = `${dir.path}/data`;
    const proc = spawnNode(LAUNCHER, [], { DATA_DIR: data, CORE_PORT: String(core), INGEST_PORT: String(ingest), HOST: '127.0.0.1' });
    try {
      await waitForHttp(`http://127.0.0.1:${core}/healthz`);
      await waitForHttp(`http://127.0.0.1:${ingest}/healthz`);
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
      expect(existsSync(`${data}/portal.db`)).toBe(true);
      expect(existsSync(`${data}/telemetry.db`)).toBe(true);
    } finally {
      const start = Date.now();
      proc.child.kill('SIGTERM');
      const { code } = await proc.exited;
      expect(code, proc.output()).toBe(0);
      expect(Date.now() - start).toBeLessThan(5_000);
    }
    // Both services logged their orderly stop, which comes after closing their databases.
    expect(proc.output().match(/"msg":"stopped"/g)).toHaveLength(2);
    for (const file of ['portal.db', 'telemetry.db']) {
      const db = openDatabase(`${data}/${file}`, { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
    }
  });

  it.each(Object.entries(SERVICES))('%s refuses to start on an invalid variable and names it', async (_name, entry) => {
    const proc = spawnNode(entry, [], { DATA_DIR: `${dir.path}/bad`, CORE_PORT: 'eighty', INGEST_PORT: 'eighty' });
    const { code } = await proc.exited;
    expect(code).toBe(1);
    expect(proc.output()).toMatch(/(CORE_PORT|INGEST_PORT).*"eighty"/);
  });

  it('stops the other service when one fails', async () => {
    const core = await freePort();
    // ingest cannot bind a port that is taken by core-api itself: it exits, and the launcher follows.
    const proc = spawnNode(LAUNCHER, [], { DATA_DIR: `${dir.path}/clash`, CORE_PORT: String(core), INGEST_PORT: String(core), HOST: '127.0.0.1' });
    const { code } = await proc.exited;
    expect(code).toBe(1);
  });
});
