import { rawHttp, startServer, type RunningServer } from '@mosis/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crash, event, startTestIngest, type TestIngest } from '../testing.js';

const APP = 'com.dev.app';
const STALLED = 50;
/** What each stalled upload sends before it stops: the first chunk of a chunked body, no Content-Length. */
const FIRST_CHUNK = '{"crashes": [';

let t: TestIngest;
let server: RunningServer;
beforeAll(async () => {
  t = await startTestIngest({ apps: [{ packageId: APP }] });
  // Through a real HTTP server as main.ts runs it (the batch routes served directly), with short timeouts:
  // the stalled uploads are cut off within the test.
  server = await startServer(t.app.fetch, 0, '127.0.0.1', { headersMs: 2_000, bodyIdleMs: 2_000, requestMs: 60_000 }, t.direct);
});
afterAll(async () => {
  await server.close();
  await t.stop();
});

describe('stalled uploads', () => {
  it('hold only what they sent: a normal request still gets its 202 at once, and they time out with 408', async () => {
    const stalled = Array.from({ length: STALLED }, () =>
      rawHttp(
        server.port,
        'POST /v1/crashes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' +
          `${FIRST_CHUNK.length.toString(16)}\r\n${FIRST_CHUNK}\r\n`,
      ),
    );
    // Every one is being read: each reserved its first chunk, not the route's 4 MiB limit (which would
    // exhaust the budget after six).
    await t.budget.when((b) => b.inUse === STALLED * FIRST_CHUNK.length || b.exhausted);
    let answeredStalled = 0;
    for (const s of stalled) void s.response.then(() => answeredStalled++);

    const url = `http://127.0.0.1:${server.port}`;
    const events = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [event(APP)] }) });
    expect(events.status).toBe(202);
    const crashes = await fetch(`${url}/v1/crashes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ crashes: [crash(APP)] }) });
    expect(crashes.status).toBe(202);
    expect(await crashes.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    // ...while the stalled ones are all still held.
    expect(answeredStalled).toBe(0);

    const responses = await Promise.all(stalled.map((s) => s.response));
    expect(responses.map((r) => r.status)).toEqual(Array(STALLED).fill(408));
    // Cut off by the idle limit (2 s), long before the request timeout (60 s).
    for (const r of responses) expect(JSON.parse(r.body)).toEqual({ error: { code: 'request_timeout', message: 'no part of the request body arrived for 2000 ms' } });
    await t.budget.when((b) => b.inUse === 0);
    expect(t.count('crash_reports')).toBe(1);
  });
});
