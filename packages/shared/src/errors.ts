import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** The contract's error body: `{"error": {"code", "message", "details"}}`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/**
 * The one error type both services throw for anything a client should see.
 * `code` is snake_case and names what was wrong; the error handler turns it into the contract's body.
 */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiError';
  }

  static badRequest(message: string, details?: unknown, code = 'invalid_body') {
    return new ApiError(400, code, message, details);
  }
  static unauthorized(message = 'authentication required') {
    return new ApiError(401, 'unauthorized', message);
  }
  static forbidden(message = 'not allowed') {
    return new ApiError(403, 'forbidden', message);
  }
  static notFound(message = 'not found') {
    return new ApiError(404, 'not_found', message);
  }
  static conflict(message: string, details?: unknown) {
    return new ApiError(409, 'conflict', message, details);
  }
  static tooLarge(message: string) {
    return new ApiError(413, 'payload_too_large', message);
  }
  static rateLimited(retryAfterSeconds: number, message = 'too many requests') {
    return new ApiError(429, 'rate_limited', message, { retry_after: retryAfterSeconds }, {
      'Retry-After': String(retryAfterSeconds),
    });
  }
  static unavailable(retryAfterSeconds: number, message = 'service busy, retry later') {
    return new ApiError(503, 'unavailable', message, { retry_after: retryAfterSeconds }, {
      'Retry-After': String(retryAfterSeconds),
    });
  }
}

/** Builds the contract's error body. */
export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

/** Hono's own status errors (e.g. from the body-limit middleware) mapped to contract codes. */
const HTTP_CODES: Record<number, string> = {
  400: 'invalid_body',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** What an error is answered with: the contract's body, its status and headers. */
export interface ErrorAnswer {
  status: ContentfulStatusCode;
  body: ErrorBody;
  headers?: Record<string, string>;
  /** True for a 500: an error of ours, not the client's (it is logged). */
  internal: boolean;
}

/**
 * How any thrown error is answered: an ApiError as it says, Hono's own status errors by their status, anything
 * else as a 500. One mapping for the Hono error handler and for routes served straight from node:http.
 */
export function errorAnswer(err: unknown): ErrorAnswer {
  if (err instanceof ApiError) {
    return { status: err.status, body: errorBody(err.code, err.message, err.details), ...(err.headers && { headers: err.headers }), internal: false };
  }
  if (err instanceof HTTPException && err.status < 500) {
    const code = HTTP_CODES[err.status] ?? 'bad_request';
    return { status: err.status, body: errorBody(code, err.message || code.replaceAll('_', ' ')), internal: false };
  }
  return { status: 500, body: errorBody('internal', 'internal server error'), internal: true };
}

/**
 * Renders an ApiError (or any error) as the contract's JSON body. Unknown errors become 500 and go to `log`
 * if given (the shared request logger also logs them, from `c.error`).
 */
export function errorHandler(log: (err: unknown, c: Context) => void = () => {}): ErrorHandler {
  return (err, c) => {
    const a = errorAnswer(err);
    if (a.internal) log(err, c);
    return c.json(a.body, a.status, a.headers);
  };
}

/** 404 for any path no route matches, in the contract's format. */
export const notFoundHandler: NotFoundHandler = (c) =>
  c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404);
