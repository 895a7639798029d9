import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { errorBody, errorHandler, notFoundHandler } from './errors.js';
import type { Logger } from './logger.js';
import { requestLogger } from './logger.js';
import { httpMetrics, type Metrics } from './metrics.js';
// Plain validation messages ("must be at least 8 characters") for every schema of both services.
import './zod-messages.js';

/** What a failed validation of each request part is called in the error body. */
const INVALID_CODE: Record<string, string> = {
  json: 'invalid_body',
  form: 'invalid_body',
  query: 'invalid_query',
  param: 'invalid_path',
  header: 'invalid_header',
  cookie: 'invalid_cookie',
};

/** What the message calls a request part whose whole value failed (an array body: "body: must be an object"). */
const PART_NAME: Record<string, string> = { json: 'body', form: 'body', query: 'query', param: 'path', header: 'header', cookie: 'cookie' };

/**
 * A service's Hono app with the shared plumbing in place: request log and metrics outermost, the contract's
 * error body for thrown errors, unmatched routes and zod validation failures (one 400 listing every issue).
 */
export function createServiceApp<E extends Env = Env>(log: Logger, metrics: Metrics): OpenAPIHono<E> {
  const app = new OpenAPIHono<E>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const details = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      const code = INVALID_CODE[result.target] ?? 'invalid_request';
      const first = details[0];
      const part = PART_NAME[result.target] ?? result.target;
      const message = first ? `${first.path || part}: ${first.message}` : `invalid ${part}`;
      return c.json(errorBody(code, message, details), 400);
    },
  });
  app.use('*', requestLogger(log));
  app.use('*', httpMetrics(metrics));
  // The request logger writes the error of a 500 in its one line for that request.
  app.onError(errorHandler());
  app.notFound(notFoundHandler);
  return app;
}

export interface ReadyCheck {
  /** Name of what is checked (`portal_db`, `queue`, ...). */
  name: string;
  /** A promise for checks that ask a server (PostgreSQL); a throw or rejection counts as not ready. */
  ok: () => boolean | Promise<boolean>;
}

const CheckResult = z.object({ status: z.enum(['ok', 'unavailable']), checks: z.record(z.string(), z.boolean()) });

/**
 * `/healthz` (the process is alive), `/readyz` (every check passes, else 503), `/metrics` (Prometheus text)
 * and `/openapi.json` (this app's routes).
 */
export function mountOperationalRoutes(
  app: OpenAPIHono<any>,
  opts: { metrics: Metrics; ready: ReadyCheck[]; title: string; version: string; description: string },
): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['operations'],
      summary: 'Liveness: the process answers',
      responses: { 200: { description: 'alive', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } } },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['operations'],
      summary: 'Readiness: databases open and writable, queue not saturated',
      responses: {
        200: { description: 'ready', content: { 'application/json': { schema: CheckResult } } },
        503: { description: 'not ready', content: { 'application/json': { schema: CheckResult } } },
      },
    }),
    async (c) => {
      const checks = Object.fromEntries(await Promise.all(opts.ready.map(async (r) => [r.name, await safe(r.ok)] as const)));
      const ok = Object.values(checks).every(Boolean);
      return c.json({ status: ok ? ('ok' as const) : ('unavailable' as const), checks }, ok ? 200 : 503);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      tags: ['operations'],
      summary: 'Prometheus metrics',
      responses: { 200: { description: 'metrics in Prometheus text format', content: { 'text/plain': { schema: z.string() } } } },
    }),
    async (c) => {
      const body = await opts.metrics.registry.metrics();
      return c.text(body, 200, { 'Content-Type': opts.metrics.registry.contentType });
    },
  );
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: opts.title, version: opts.version, description: opts.description },
  });
}

async function safe(check: () => boolean | Promise<boolean>): Promise<boolean> {
  try {
    return await check();
  } catch {
    return false;
  }
}
