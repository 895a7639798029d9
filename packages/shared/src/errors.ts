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

/**
 * Renders an ApiError (or any error) as the contract's JSON body. Unknown errors become 500 and go to `log`
 * if given (the shared request logger also logs them, from `c.error`).
 */
export function errorHandler(log: (err: unknown, c: Context) => void = () => {}): ErrorHandler {
  return (err, c) => {
    if (err instanceof ApiError) {
      return c.json(errorBody(err.code, err.message, err.details), err.status, err.headers);
    }
    if (err instanceof HTTPException && err.status < 500) {
      const code = HTTP_CODES[err.status] ?? 'bad_request';
      return c.json(errorBody(code, err.message || code.replaceAll('_', ' ')), err.status);
    }
    log(err, c);
    return c.json(errorBody('internal', 'internal server error'), 500);
  };
}

/** 404 for any path no route matches, in the contract's format. */
export const notFoundHandler: NotFoundHandler = (c) =>
  c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404);
