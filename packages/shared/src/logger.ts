import type { MiddlewareHandler } from 'hono';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Structured JSON logger: one line per entry on stdout, `{time, level, service, msg, ...fields}`. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Whether entries at `level` are written (lets a hot path skip building fields nobody reads). */
  enabled?(level: Exclude<LogLevel, 'silent'>): boolean;
}

export function createLogger(
  service: string,
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
): Logger {
  const min = RANK[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, service, msg, ...fields }, errorReplacer));
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), enabled: (lvl) => RANK[lvl] >= min };
}

/** Errors serialize to {name, message, stack, cause} instead of `{}`. */
function errorReplacer(_key: string, value: unknown) {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack, cause: value.cause };
  }
  return typeof value === 'bigint' ? value.toString() : value;
}

/**
 * Logs requests by outcome, so that the log holds errors and state changes, not traffic (traffic is counted
 * in `http_requests_total`): answered requests, 4xx included, at debug; a 5xx at error, with the error that
 * caused it, in one line. 4xx stay at debug because they are the client's doing: any client could otherwise
 * fill the disk with them. A 503 is a deliberate refusal (overload, shutdown; it carries Retry-After): debug
 * too, the service logs when it starts and stops refusing. Method and path only (no query string: it may carry
 * secrets). Runs outermost so the status is the final one, error handler included.
 */
export function requestLogger(log: Logger): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    await next();
    logRequest(log, { method: c.req.method, path: c.req.path, status: c.res.status, start, err: c.error });
  };
}

/**
 * The request logger's line for one answered request (see requestLogger), for routes served without Hono too.
 * `path` is the path alone (no query string: it may carry secrets); `start` is performance.now() at arrival.
 */
export function logRequest(log: Logger, r: { method: string; path: string; status: number; start: number; err?: unknown }): void {
  const failed = r.status >= 500 && r.status !== 503;
  // Below debug (every level but the most verbose), an answered request builds nothing here.
  if (!failed && log.enabled?.('debug') === false) return;
  const fields = {
    method: r.method,
    path: r.path,
    status: r.status,
    duration_ms: Math.round((performance.now() - r.start) * 100) / 100,
  };
  if (failed) log.error('request failed', r.err ? { ...fields, err: r.err } : fields);
  else log.debug('request', fields);
}
