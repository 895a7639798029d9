import { databasePath, openDatabase, tempDir } from '@mosis/shared';
import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { event, seedPortal, spawnIngest } from './testing.js';

const APP = 'com.dev.app';

/** Sends a body in two parts with a pause between: a request still in flight while we signal. */
function slowPost(url: string, body: string, pause: Promise<void>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(`${url}/v1/events`);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    const half = Math.floor(body.length / 2);
    req.write(body.slice(0, half));
    void pause.then(() => req.end(body.slice(half)));
  });
}

describe('shutdown', () => {
  const dir = tempDir('mosis-shutdown-');
  afterAll(() => dir.cleanup());

  it('on SIGTERM answers the requests in flight with 202, stores them, and exits 0', async () => {
    (await seedPortal(dir.path, [{ packageId: APP }])).close();
    // A long flush interval keeps committed-but-unanswered requests waiting in the queue at the signal.
    const ingest = await spawnIngest(dir.path, { INGEST_FLUSH_INTERVAL_MS: '300', INGEST_FLUSH_MAX_EVENTS: '100000' });

    const queued = Array.from({ length: 10 }, () =>
      fetch(`${ingest.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [event(APP), event(APP)] }) }),
    );
    let release!: () => void;
    const slow = slowPost(ingest.url, JSON.stringify({ events: Array.from({ length: 50 }, () => event(APP)) }), new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 100));

    ingest.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    release();

    const answers = await Promise.all(queued);
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(202));
    const slowAnswer = await slow;
    expect(slowAnswer.status).toBe(202);
    expect(JSON.parse(slowAnswer.body)).toMatchObject({ accepted: 50 });
    expect(await ingest.exited).toEqual({ code: 0, signal: null });

    const db = openDatabase(databasePath(dir.path, 'telemetry'), { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM telemetry_events').get()).toEqual({ n: 70 });
    } finally {
      db.close();
    }
  });
});
