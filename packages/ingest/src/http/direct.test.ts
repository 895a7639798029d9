import { startServer, type RunningServer } from '@mosis/shared';
import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EVENTS_BODY_BYTES } from '../limits.js';
import { crash, event, startTestIngest, type TestIngest } from '../testing.js';

const APP = 'com.dev.app';

/** One request, built afresh for each server (fresh event ids: the second send is no duplicate). */
interface Scenario {
  name: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: () => string | Buffer;
  /** False for what the direct routes leave to the Hono app. */
  direct?: false;
}

const json = { 'content-type': 'application/json' };
const events = (...items: unknown[]) => () => JSON.stringify({ events: items.map((i) => (typeof i === 'function' ? i() : i)) });
const fresh = (over: Record<string, unknown> = {}) => () => event(APP, { event_id: randomUUID(), ...over });

const SCENARIOS: Scenario[] = [
  { name: 'a valid event', path: '/v1/events', headers: json, body: events(fresh()) },
  { name: 'a valid crash', path: '/v1/crashes', headers: json, body: () => JSON.stringify({ crashes: [crash(APP, { crash_id: randomUUID() })] }) },
  { name: 'a query string', path: '/v1/events?debug=1', headers: json, body: events(fresh()) },
  { name: 'a gzip body', path: '/v1/events', headers: { ...json, 'content-encoding': 'gzip' }, body: () => gzipSync(events(fresh())()) },
  { name: 'items rejected one by one', path: '/v1/events', headers: json, body: events(fresh(), fresh({ app: 'com.unknown' }), fresh({ event_type: 'Bad Type' })) },
  { name: 'a body that is not JSON', path: '/v1/events', headers: json, body: () => '{"events": [' },
  { name: 'a body that is not an object', path: '/v1/events', headers: json, body: () => '[1]' },
  { name: 'no events', path: '/v1/events', headers: json, body: () => '{"events": []}' },
  { name: 'an unreadable sent_at', path: '/v1/events', headers: json, body: () => JSON.stringify({ sent_at: 'yesterday', events: [event(APP)] }) },
  { name: 'no content type', path: '/v1/events', body: events(fresh()) },
  { name: 'a text content type', path: '/v1/events', headers: { 'content-type': 'text/plain' }, body: events(fresh()) },
  { name: 'an unknown content encoding', path: '/v1/events', headers: { ...json, 'content-encoding': 'br' }, body: events(fresh()) },
  { name: 'a body that is not gzip', path: '/v1/events', headers: { ...json, 'content-encoding': 'gzip' }, body: events(fresh()) },
  { name: 'a body over the limit', path: '/v1/events', headers: json, body: () => JSON.stringify({ events: [event(APP, { data: { pad: 'x'.repeat(MAX_EVENTS_BODY_BYTES) } })] }) },
  { name: 'a GET (left to Hono)', method: 'GET', path: '/v1/events', direct: false },
  { name: 'a trailing slash (left to Hono)', path: '/v1/events/', headers: json, body: events(fresh()), direct: false },
];

/** What must be the same whichever way a request is served. */
async function answer(server: RunningServer, s: Scenario) {
  const res = await fetch(`http://127.0.0.1:${server.port}${s.path}`, { method: s.method ?? 'POST', headers: s.headers ?? {}, ...(s.body && { body: s.body() }) });
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    retryAfter: res.headers.get('retry-after'),
    connection: res.headers.get('connection'),
    body: await res.json(),
  };
}

let t: TestIngest;
let viaHono: RunningServer;
let viaDirect: RunningServer;
/** Requests the direct routes took (the others went on to the app). */
let taken = 0;
beforeAll(async () => {
  t = await startTestIngest({ apps: [{ packageId: APP }] });
  viaHono = await startServer(t.app.fetch, 0, '127.0.0.1');
  viaDirect = await startServer(t.app.fetch, 0, '127.0.0.1', {}, (req, res) => t.direct(req, res) && ++taken > 0);
});
afterAll(async () => {
  await viaHono.close();
  await viaDirect.close();
  await t.stop();
});

/** `http_requests_total` for one route and status, as /metrics shows it. */
async function served(route: string, status: number): Promise<number> {
  const text = await (await t.app.request('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`http_requests_total{method="POST",route="${route}",status="${status}"`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('the direct routes answer as the Hono app does', () => {
  it.each(SCENARIOS)('$name', async (s) => {
    const hono = await answer(viaHono, s);
    const before = taken;
    const direct = await answer(viaDirect, s);
    expect(direct).toEqual(hono);
    expect(taken - before).toBe(s.direct === false ? 0 : 1);
  });

  it('are counted in the HTTP metrics under their route pattern, as the app counts them', async () => {
    const before = await served('/v1/events', 202);
    await answer(viaDirect, SCENARIOS[0]!);
    await answer(viaDirect, SCENARIOS[2]!);
    expect(await served('/v1/events', 202)).toBe(before + 2);
    const refused = await served('/v1/events', 415);
    await answer(viaDirect, SCENARIOS.find((s) => s.name === 'a text content type')!);
    expect(await served('/v1/events', 415)).toBe(refused + 1);
  });

  it('answer a body refused while it is read (413) and end its connection, as the app does', async () => {
    const heads: string[] = [];
    for (const server of [viaHono, viaDirect]) {
      // Chunked, so the limit is found while reading; the rest of the body never comes.
      const chunk = 'x'.repeat(MAX_EVENTS_BODY_BYTES + 1);
      const socket = connect(server.port, '127.0.0.1');
      socket.write(`POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      let data = '';
      socket.on('data', (d) => (data += d));
      await new Promise((resolve) => socket.once('close', resolve));
      heads.push(data.slice(0, data.indexOf('\r\n')));
      expect(JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'payload_too_large' } });
    }
    expect(heads).toEqual(['HTTP/1.1 413 Payload Too Large', 'HTTP/1.1 413 Payload Too Large']);
  });

  // Last: stopping cannot be undone.
  it('while stopping: 503 with Retry-After and Connection: close', async () => {
    t.stopAccepting();
    const hono = await answer(viaHono, SCENARIOS[0]!);
    const direct = await answer(viaDirect, SCENARIOS[0]!);
    expect(direct).toEqual(hono);
    expect(direct).toMatchObject({ status: 503, retryAfter: expect.any(String), connection: 'close' });
  });
});
