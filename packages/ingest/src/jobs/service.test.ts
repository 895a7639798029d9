import { databasePath, freePort, openDatabase, spawnNode, tempDir } from '@mosis/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { crash, event, INGEST_MAIN, seedPortal, spawnIngest } from '../testing.js';

const APP = 'com.dev.jobs';

async function until<T>(read: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = read();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the ingest service runs the jobs (built dist, child process)', () => {
  const dir = tempDir('mosis-jobs-svc-');
  afterAll(() => dir.cleanup());

  it('rolls up on its schedule what devices sent, and exits 0 on SIGTERM', async () => {
    (await seedPortal(dir.path, [{ packageId: APP, id: 'app-1' }])).close();
    const svc = await spawnIngest(dir.path, { ROLLUP_SCHEDULE: '* * * * * *' });
    const post = (path: string, body: unknown) => fetch(`${svc.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/v1/events', { events: [event(APP), event(APP, { device_id: 'device-2' }), event(APP, { event_type: 'click' })] })).status).toBe(202);
    expect((await post('/v1/crashes', { crashes: [crash(APP), crash(APP, { device_id: 'device-9' })] })).status).toBe(202);

    const db = openDatabase(databasePath(dir.path, 'telemetry'), { readonly: true });
    try {
      const today = new Date().toISOString().slice(0, 10);
      const daily = await until(() => {
        const rows = db.prepare('SELECT event_type, count, unique_devices FROM telemetry_daily WHERE app_id = ? AND date = ? ORDER BY event_type').all('app-1', today);
        return rows.length === 2 ? rows : undefined;
      });
      expect(daily).toEqual([
        { event_type: 'app_open', count: 2, unique_devices: 2 },
        { event_type: 'click', count: 1, unique_devices: 1 },
      ]);
      const crashes = await until(() => db.prepare('SELECT count, devices FROM crash_daily WHERE app_id = ?').get('app-1'));
      expect(crashes).toEqual({ count: 2, devices: 2 });
      // The scheduled run shows in /metrics (series read from job_runs) once it has recorded its end.
      await until(() => db.prepare("SELECT 1 FROM job_runs WHERE job = 'rollup' AND ok = 1").get());
      const metrics = await (await fetch(`${svc.url}/metrics`)).text();
      expect(metrics).toMatch(/^ingest_job_last_run_ok\{job="rollup",service="ingest"\} 1$/m);
      expect(metrics).toMatch(/^ingest_job_last_success_timestamp_seconds\{job="rollup",service="ingest"\} \d+/m);
    } finally {
      db.close();
    }
    svc.child.kill('SIGTERM');
    expect(await svc.exited).toEqual({ code: 0, signal: null });
  });

  it('refuses to start with a bad schedule or retention, naming the variable', async () => {
    for (const [name, value] of [['ROLLUP_SCHEDULE', 'every five minutes'], ['RETENTION_DAYS', '0']] as const) {
      const proc = spawnNode(INGEST_MAIN, [], { DATA_DIR: `${dir.path}/bad`, INGEST_PORT: String(await freePort()), [name]: value });
      const { code } = await proc.exited;
      expect(code).toBe(1);
      expect(proc.output()).toContain(name);
    }
  });
});
