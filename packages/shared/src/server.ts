import { serve, type Http2Bindings, type HttpBindings, type ServerType } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { BaseConfig } from './config.js';
import { errorBody } from './errors.js';
import {
  DEFAULT_HTTP_BODY_IDLE_TIMEOUT_MS,
  DEFAULT_HTTP_HEADERS_TIMEOUT_MS,
  DEFAULT_HTTP_REQUEST_TIMEOUT_MS,
  HTTP_TIMEOUT_CHECK_MAX_INTERVAL_MS,
} from './limits.js';

export interface RunningServer {
  server: ServerType;
  port: number;
  /** Stops accepting connections and resolves once in-flight requests have been answered. */
  close(): Promise<void>;
}

/** How long a client may take to send a request (limits.ts has the defaults, config overrides them). */
export interface HttpTimeouts {
  /** Until the headers are complete. */
  headersMs: number;
  /** Between two pieces of the body. */
  bodyIdleMs: number;
  /** Until the whole request (headers and body) is in. */
  requestMs: number;
}

/** The timeouts a service's config names. */
export function httpTimeouts(config: Pick<BaseConfig, 'HTTP_HEADERS_TIMEOUT_MS' | 'HTTP_BODY_IDLE_TIMEOUT_MS' | 'HTTP_REQUEST_TIMEOUT_MS'>): HttpTimeouts {
  return { headersMs: config.HTTP_HEADERS_TIMEOUT_MS, bodyIdleMs: config.HTTP_BODY_IDLE_TIMEOUT_MS, requestMs: config.HTTP_REQUEST_TIMEOUT_MS };
}

/** Requests the server answered 408 itself because their body stalled or came too slowly. */
const timedOut = new WeakSet<IncomingMessage>();
/** Responses the server sent itself (408): the app's own answer to them is dropped. */
const answered = new WeakSet<object>();

/**
 * Serves some requests straight from node:http, without the web Request and Response a fetch handler works
 * on (they cost more per request than a small route's own work); returns false for a request it leaves to
 * the fetch handler. It answers in the contract's format like the app does, and sends nothing to a
 * response the server already answered (see `answeredByServer`).
 */
export type DirectHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** True when the server answered this response itself (408): a direct handler then sends nothing. */
export function answeredByServer(res: ServerResponse): boolean {
  return answered.has(res) || res.headersSent;
}

/**
 * True when the server gave up on this request's body (and answered 408 itself): the body reader then sees
 * the connection close, and what the app answers is not sent.
 */
export function bodyTimedOut(req: IncomingMessage): boolean {
  return timedOut.has(req);
}

/**
 * Starts an HTTP server for a fetch handler; resolves once it listens. Port 0 picks a free port.
 * A client must send its headers within `headersMs`, its whole request within `requestMs`, and may pause
 * inside a body for at most `bodyIdleMs`; otherwise it gets a 408 in the contract's error format (when an
 * answer can still be sent) and the connection is closed, so a stalled upload holds nothing for long.
 * `direct` takes the requests it recognizes before the fetch handler sees them (the ingest routes).
 */
export function startServer(
  fetch: (req: Request, env: HttpBindings | Http2Bindings) => Response | Promise<Response>,
  port: number,
  hostname: string,
  timeouts: Partial<HttpTimeouts> = {},
  direct?: DirectHandler,
): Promise<RunningServer> {
  const t: HttpTimeouts = {
    headersMs: DEFAULT_HTTP_HEADERS_TIMEOUT_MS,
    bodyIdleMs: DEFAULT_HTTP_BODY_IDLE_TIMEOUT_MS,
    requestMs: DEFAULT_HTTP_REQUEST_TIMEOUT_MS,
    ...timeouts,
  };
  /** Per socket, the request whose body is still arriving. */
  const reading = new WeakMap<Socket, { req: IncomingMessage; res: ServerResponse }>();

  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: (req, env) => {
          const res = fetch(req, env);
          if (!(res instanceof Promise)) return res;
          return res.then((r) => (answered.has(env.outgoing) ? RESPONSE_ALREADY_SENT : r));
        },
        port,
        hostname,
        ...(direct && {
          createServer: ((options: object, listener: (req: IncomingMessage, res: ServerResponse) => void) =>
            createServer(options, (req, res) => {
              if (!direct(req, res)) listener(req, res);
            })) as typeof createServer,
        }),
        serverOptions: {
          headersTimeout: t.headersMs,
          requestTimeout: t.requestMs,
          // Node checks both on a timer (30 s by default): often enough that they hold to about a second.
          connectionsCheckingInterval: Math.max(10, Math.min(HTTP_TIMEOUT_CHECK_MAX_INTERVAL_MS, Math.floor(t.headersMs / 2))),
        },
      },
      (info) => {
        resolve({
          server,
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              const http = server as Server;
              http.close(() => done());
              // Idle keep-alive sockets would hold close() open until they time out.
              http.closeIdleConnections?.();
            }),
        });
      },
    );
    server.once('error', reject);
    const http = server as Server;

    const answerTimeout = ({ req, res }: { req: IncomingMessage; res: ServerResponse }, message: string) => {
      timedOut.add(req);
      const socket = req.socket;
      reading.delete(socket);
      // Node aborts only requests still waiting for their answer; this one is answered, so its body
      // reader learns here that no more will come (and releases what it holds).
      socket.once('close', () => req.destroy(new Error('request timed out')));
      if (res.headersSent) {
        socket.destroy();
        return;
      }
      answered.add(res);
      const body = JSON.stringify(errorBody('request_timeout', message));
      // `Connection: close`: Node closes the socket once this is sent, and the body reader sees it end.
      res.writeHead(408, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body);
    };

    // While a body arrives, the socket times out after bodyIdleMs without a byte (Node counts parser
    // activity). One listener for the server instead of three per request: the request path stays cheap.
    http.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.complete || !hasBody(req)) return;
      reading.set(req.socket, { req, res });
      req.socket.setTimeout(t.bodyIdleMs);
    });
    // With a listener here Node destroys no timed-out socket itself: each case is decided here.
    http.on('timeout', (socket: Socket) => {
      const pending = reading.get(socket);
      if (pending && !pending.res.writableFinished) {
        if (!pending.req.complete) return answerTimeout(pending, `no part of the request body arrived for ${t.bodyIdleMs} ms`);
        // The body is in and the app still at work (it may take longer than the idle limit): no stall.
        reading.delete(socket);
        socket.setTimeout(0);
        return;
      }
      // An idle keep-alive connection (Node's own keep-alive timeout), or a stalled body already answered.
      reading.delete(socket);
      socket.destroy();
    });

    // Headers or the whole request took too long, or the request is malformed: Node's own answer is a bare
    // status line; this one is the contract's error body.
    http.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      const pending = reading.get(socket);
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && pending) {
        answerTimeout(pending, `the request was not received within ${t.requestMs} ms`);
        return;
      }
      if (!socket.writable || pending?.res.headersSent || err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const [status, code, message] =
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'request_timeout', `the request headers were not received within ${t.headersMs} ms`]
          : err.code === 'HPE_HEADER_OVERFLOW'
            ? [431, 'headers_too_large', 'the request headers are too large']
            : [400, 'invalid_request', 'malformed HTTP request'];
      const body = JSON.stringify(errorBody(code, message));
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        () => socket.destroy(),
      );
    });
  });
}

/** Whether a request declares a body (a length above 0, or chunked). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
