import { ApiError } from '@mosis/shared';
import type { MiddlewareHandler } from 'hono';
import type { CoreEnv } from '../context.js';
import { bearerToken } from './middleware.js';
import { sameDigest, sha256Hex } from './tokens.js';

/**
 * Guards /v1/admin/*: the bearer must be ADMIN_TOKEN (compared as SHA-256 digests in constant time, so
 * neither content nor length leaks through timing). With no ADMIN_TOKEN configured the routes do not exist:
 * 404, as for any unknown path.
 */
export function requireAdmin(adminToken: string | undefined): MiddlewareHandler<CoreEnv> {
  const want = adminToken ? sha256Hex(adminToken) : undefined;
  return async (c, next) => {
    if (!want) throw ApiError.notFound(`no route for ${c.req.method} ${c.req.path}`);
    const token = bearerToken(c.req.header('authorization'));
    if (!token) throw new ApiError(401, 'unauthorized', 'admin token required', undefined, { 'WWW-Authenticate': 'Bearer' });
    if (!sameDigest(sha256Hex(token), want)) throw ApiError.forbidden('not the admin token');
    await next();
  };
}
