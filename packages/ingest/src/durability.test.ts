import { databasePath, openDatabase, tempDir } from '@mosis/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { event, seedPortal, spawnIngest } from './testing.js';

const APP = 'com.dev.app';
const WORKERS = 16;
const BATCH = 25;

describe('durability', () => {
  const dir = tempDir('mosis-durability-');
  afterAll(() => dir.cleanup());

  it('after SIGKILL under concurrent load, every event that got a 202 is stored exactly once', async () => {
    (await seedPortal(dir.path, [{ packageId: APP }])).close();
    let ingest = await spawnIngest(dir.path);

    const acked = new Set<string>();
    /** Batches whose outcome is unknown (the connection died): devices retry them. */
    const unknown: Array<Record<string, unknown>[]> = [];
    let killed = false;
    const worker = async (w: number) => {
      while (!killed) {
        const events = Array.from({ length: BATCH }, () => event(APP, { device_id: `device-${w}` }));
        try {
          const res = await fetch(`${ingest.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
          const body = (await res.json()) as { accepted: number };
          if (res.status === 202) {
            expect(body.accepted).toBe(BATCH);
            for (const e of events) acked.add(e.event_id as string);
          } else unknown.push(events);
        } catch {
          unknown.push(events);
        }
      }
    };
    const load = Array.from({ length: WORKERS }, (_, w) => worker(w));
    await new Promise((r) => setTimeout(r, 2_000));
    ingest.child.kill('SIGKILL');
    killed = true;
    expect((await ingest.exited).signal).toBe('SIGKILL');
    await Promise.all(load);
    expect(acked.size).toBeGreaterThan(50);

    // Restart on the same files; devices retry what they did not get an answer for.
    ingest = await spawnIngest(dir.path);
    for (const events of unknown) {
      const res = await fetch(`${ingest.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
      const body = (await res.json()) as { accepted: number; duplicates: number };
      expect(res.status).toBe(202);
      expect(body.accepted + body.duplicates).toBe(BATCH);
      for (const e of events) acked.add(e.event_id as string);
    }
    ingest.child.kill('SIGTERM');
    expect((await ingest.exited).code).toBe(0);

    const db = openDatabase(databasePath(dir.path, 'telemetry'), { readonly: true });
    try {
      const rows = db.prepare("SELECT lower(hex(event_id)) AS id, count(*) AS n FROM telemetry_events GROUP BY event_id").all() as { id: string; n: number }[];
      const stored = new Map(rows.map((r) => [r.id, r.n]));
      const missing = [...acked].filter((id) => stored.get(id.replaceAll('-', '')) !== 1);
      expect(missing).toEqual([]);
      expect(rows.every((r) => r.n === 1)).toBe(true);
      expect(rows.length).toBe(acked.size);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  });
});
