import type { CoreApp, CoreContext } from '../context.js';

/** An answer of the JSON API to the console: the status and the parsed body (undefined when not JSON). */
export interface ApiAnswer {
  ok: boolean;
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** Request headers the console passes on to /v1: what the audit log, the rate limits and uploads read. */
const FORWARDED = ['user-agent', 'x-forwarded-for', 'x-forwarded-proto', 'accept', 'content-type', 'content-length'] as const;

/**
 * The console's way to the JSON API: each operation is a real /v1 request through the app itself, in
 * process, with the session as a bearer. So there is one implementation of every operation, with its
 * validation, permissions and audit log; the console adds no SQL of its own. The Node bindings
 * (c.env: the socket) go along, so /v1 sees the browser's address, as if it had called directly.
 */
export class ConsoleApi {
  constructor(private readonly app: CoreApp) {}

  private headers(c: CoreContext, bearer: string | undefined, pick: readonly string[]): Headers {
    const headers = new Headers();
    for (const name of pick) {
      const v = c.req.header(name);
      if (v !== undefined) headers.set(name, v);
    }
    if (bearer) headers.set('authorization', `Bearer ${bearer}`);
    return headers;
  }

  /** A JSON request to `path` (with its query); a JSON body when `json` is given. */
  async call(c: CoreContext, method: string, path: string, opts: { bearer?: string; json?: unknown } = {}): Promise<ApiAnswer> {
    const headers = this.headers(c, opts.bearer, ['user-agent', 'x-forwarded-for', 'x-forwarded-proto']);
    headers.set('accept', 'application/json');
    let body: string | undefined;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers.set('content-type', 'application/json');
    }
    const res = await this.app.request(path, { method, headers, body }, c.env);
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { ok: res.ok, status: res.status, body: parsed };
  }

  /**
   * Passes the browser's request on to `path` as it is (method, body streamed, content headers), with the
   * session as the bearer, and returns /v1's response unchanged: the JSON proxy behind the console's
   * scripts (charts, the live view, package uploads with progress).
   */
  forward(c: CoreContext, path: string, bearer: string): Promise<Response> {
    const method = c.req.method;
    const hasBody = method !== 'GET' && method !== 'HEAD';
    const init: RequestInit & { duplex?: 'half' } = {
      method,
      headers: this.headers(c, bearer, FORWARDED),
      signal: c.req.raw.signal,
      ...(hasBody && { body: c.req.raw.body, duplex: 'half' }),
    };
    return Promise.resolve(this.app.request(path, init, c.env));
  }
}

/** The API's error message in words (the contract's error body), for showing to a person. */
export function apiMessage(answer: ApiAnswer): string {
  const message = answer.body?.error?.message;
  if (typeof message === 'string' && message) return message;
  return `the server answered ${answer.status}`;
}
