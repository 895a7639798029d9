import { z } from '@hono/zod-openapi';

/** The contract's error body, as documented in /openapi.json. */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'not_found' }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'invalid request (`invalid_body`, `invalid_query`, `invalid_path`)',
  401: '`unauthorized`: no token, or an unknown, revoked or expired one',
  403: '`forbidden`: the API key lacks the permission',
  404: '`not_found`: no such resource, or not the caller\'s',
  409: '`conflict`',
  413: '`payload_too_large`',
  415: '`unsupported_media_type`: the body must be application/json',
  416: '`range_not_satisfiable`: the Range starts past the end (Content-Range: bytes */size)',
  507: '`insufficient_storage`: the package disk is full',
  422: '`signature_mismatch`: the signature is not one of your active signing keys\' over the package\'s SHA-256',
  429: '`rate_limited`, with Retry-After',
};

/** Error responses of a route, for its OpenAPI description. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: ERROR_DESCRIPTIONS[s] ?? 'error', content: { 'application/json': { schema: ErrorSchema } } }]),
  ) as Record<number, { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } }>;
}

/** Errors every authenticated JSON route can answer. */
export const AUTHED_JSON_ERRORS = [400, 401, 403, 413, 415] as const;

/** A required JSON request body. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } };
}

/** A JSON response. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

/** Name of the bearer security scheme in /openapi.json. */
export const BEARER_SCHEME = 'bearer';
/** `security` of a route that takes a session token or an API key. */
export const BEARER = [{ [BEARER_SCHEME]: [] }];

/** A path id: any string (an unknown or malformed id is a 404 from the lookup, never a 400 or a 500). */
export const IdParam = z.string().openapi({ description: 'resource id (UUID)' });
