import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServiceApp } from './http.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { startServer, type RunningServer } from './server.js';
import { rawHttp } from './testing.js';

/** A handler waits on this until the test opens it (a handler slower than the body idle limit). */
let openGate: () => void = () => {};
const gate = () => new Promise<void>((resolve) => (openGate = resolve));

const app = createServiceApp(createLogger('test', 'silent'), createMetrics('test'));
app.post('/echo', async (c) => c.json({ got: (await c.req.text()).length }));
app.post('/slow', async (c) => {
  const text = await c.req.text();
  await gate();
  return c.json({ got: text.length });
});

let server: RunningServer;
beforeAll(async () => {
  server = await startServer(app.fetch, 0, '127.0.0.1', { headersMs: 300, bodyIdleMs: 300, requestMs: 1_200 });
});
afterAll(() => server.close());

const errorCode = (body: string) => (JSON.parse(body) as { error: { code: string } }).error.code;

describe('startServer timeouts', () => {
  it('answers 408 in the contract format to a client that stalls in its headers, and closes', async () => {
    const c = rawHttp(server.port, 'POST /echo HTTP/1.1\r\nHost: x\r\n');
    const res = await c.response;
    expect(res.status).toBe(408);
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'request_timeout', message: 'the request headers were not received within 300 ms' } });
  });

  it('answers 408 and closes when a body stalls, but never cuts off a handler slower than the idle limit', async () => {
    // The slow request sent its whole body: its handler waits, its socket stays silent past the idle limit.
    const slow = rawHttp(server.port, 'POST /slow HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
    await slow.connected;
    const stalled = rawHttp(server.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nabc');
    const res = await stalled.response;
    expect(res.status).toBe(408);
    expect(res.head.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'request_timeout', message: 'no part of the request body arrived for 300 ms' } });

    // By now the slow request's socket has been silent longer than the idle limit too: it is still served.
    openGate();
    const ok = await slow.response;
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ got: 5 });
  });

  it('cuts off a client that trickles its body within the idle limit but past the request timeout', async () => {
    const c = rawHttp(server.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n');
    await c.connected;
    // The client's own pace: a byte every 100 ms, well inside the 300 ms idle limit.
    const trickle = setInterval(() => c.socket.writable && c.socket.write('1\r\nx\r\n'), 100);
    try {
      const res = await c.response;
      expect(res.status).toBe(408);
      expect(JSON.parse(res.body)).toEqual({ error: { code: 'request_timeout', message: 'the request was not received within 1200 ms' } });
    } finally {
      clearInterval(trickle);
    }
  });

  it('answers a malformed request 400 in the contract format', async () => {
    const res = await rawHttp(server.port, 'NOT HTTP AT ALL\r\n\r\n').response;
    expect(res.status).toBe(400);
    expect(errorCode(res.body)).toBe('invalid_request');
  });

  it('still closes an idle keep-alive connection at its keep-alive timeout', async () => {
    (server.server as Server).keepAliveTimeout = 200;
    const c = rawHttp(server.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi');
    // Answered, then left open by the client: the server closes it.
    const res = await c.response;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ got: 2 });
  });

  it('serves a normal request on a keep-alive connection as before', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/echo`, { method: 'POST', body: 'hello world' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ got: 11 });
  });
});
