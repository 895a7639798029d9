import { answeredByServer, errorAnswer, httpRecorder, logRequest, type DirectHandler, type Logger, type Metrics } from '@mosis/shared';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nodeBody, type BodySource } from './body.js';

/** A route served straight from node:http: the same handler its Hono route calls, answered 202 (or as it throws). */
export interface DirectRoute {
  /** The route pattern, also its `route` label in the HTTP metrics (an exact path: no parameters). */
  path: string;
  handle: (req: BodySource) => Promise<unknown>;
}

/**
 * The ingest routes (`POST /v1/events`, `/v1/crashes`) without Hono's Request and Response: under device
 * traffic, one small request each, converting them cost more main-thread CPU than the route's own work.
 * Everything the Hono app does around these routes is done here too, the same way: the contract's error
 * body (errorAnswer), the request log line and HTTP metrics, `Connection: close` while stopping. Any other
 * request (other methods or paths, a path with escapes) returns false and goes to the Hono app.
 */
export function directRoutes(routes: DirectRoute[], opts: { log: Logger; metrics: Metrics; stopping: () => boolean }): DirectHandler {
  const byPath = new Map(routes.map((r) => [r.path, r]));
  const record = httpRecorder(opts.metrics);
  const answer = async (route: DirectRoute, req: IncomingMessage, res: ServerResponse) => {
    const start = performance.now();
    let status = 202;
    let body: unknown;
    let headers: Record<string, string> | undefined;
    let err: unknown;
    try {
      body = await route.handle(nodeBody(req));
    } catch (e) {
      const a = errorAnswer(e);
      ({ status, body, headers } = a);
      if (a.internal) err = e;
    }
    send(res, status, JSON.stringify(body), headers, opts.stopping());
    record('POST', route.path, status, start);
    logRequest(opts.log, { method: 'POST', path: route.path, status, start, err });
  };
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const route = byPath.get(q < 0 ? url : url.slice(0, q));
    if (!route) return false;
    void answer(route, req, res);
    return true;
  };
}

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string> | undefined, close: boolean): void {
  // The server answered it itself (408, a stalled body): nothing more goes out.
  if (answeredByServer(res)) return;
  const out: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  if (headers) for (const k in headers) out[k.toLowerCase()] = headers[k]!;
  // While stopping, answered keep-alive connections close, so the server's close() can finish.
  if (close) out.connection = 'close';
  res.writeHead(status, out);
  res.end(text);
}
