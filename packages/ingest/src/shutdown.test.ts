import { databasePath, openDatabase, tempDir } from '@mosis/shared';
import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { event, seedPortal, spawnIngest } from './testing.js';

const APP = 'com.dev.app';

/** Sends a body in two parts with a pause between: a request still in flight while we signal. */
function slowPost(url: string, body: string, pause: Promise<void>, connected: () => void): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(`${url}/v1/events`);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.on('socket', (socket) => socket.once('connect', connected));
    const half = Math.floor(body.length / 2);
    req.write(body.slice(0, half));
    void pause.then(() => req.end(body.slice(half)));
  });
}

async function waitForQueueDepth(url: string, depth: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await (await fetch(`${url}/metrics`)).text();
    if (new RegExp(`^ingest_queue_depth\\{[^}]*\\} ${depth}$`, 'm').test(text)) return;
    if (Date.now() > deadline) throw new Error(`queue depth never reached ${depth}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('shutdown', () => {
  const dir = tempDir('mosis-shutdown-');
  afterAll(() => dir.cleanup());

  it('on SIGTERM answers the requests in flight with 202, stores them, and exits 0', async () => {
    (await seedPortal(dir.path, [{ packageId: APP }])).close();
    // A long flush interval keeps accepted-but-uncommitted requests waiting in the queue at the signal.
    const ingest = await spawnIngest(dir.path, { INGEST_FLUSH_INTERVAL_MS: '1000', INGEST_FLUSH_MAX_EVENTS: '100000' });

    // A request whose body is still arriving when the signal comes...
    let release!: () => void;
    let connected!: () => void;
    const isConnected = new Promise<void>((r) => (connected = r));
    const slow = slowPost(ingest.url, JSON.stringify({ events: Array.from({ length: 50 }, () => event(APP)) }), new Promise<void>((r) => (release = r)), connected);
    await isConnected;
    await new Promise((r) => setTimeout(r, 300));
    // ...and requests waiting in the queue for their commit.
    const queued = Array.from({ length: 10 }, () =>
      fetch(`${ingest.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [event(APP), event(APP)] }) }),
    );
    await waitForQueueDepth(ingest.url, 20);

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
