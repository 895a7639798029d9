import { createRoute } from '@hono/zod-openapi';
import { ApiError } from '@mosis/shared';
import { requireAuth } from '../auth/middleware.js';
import { caller, type CoreApp, type CoreDeps } from '../context.js';
import { BEARER, errorResponses, jsonResponse } from '../openapi.js';
import { DeveloperSchema } from '../schemas.js';
import { developerById, publicDeveloper } from '../store/developers.js';

/** `GET /v1/me`: the caller, whatever their token (any API key may ask who it belongs to). */
export function register(app: CoreApp, deps: CoreDeps): void {
  const db = deps.portal;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/me',
      tags: ['accounts'],
      summary: 'The calling developer',
      security: BEARER,
      middleware: [requireAuth(db)] as const,
      responses: { 200: jsonResponse(DeveloperSchema, 'the caller'), ...errorResponses(401) },
    }),
    (c) => {
      const dev = developerById(db, caller(c).developerId);
      if (!dev) throw ApiError.unauthorized('account no longer exists');
      return c.json(publicDeveloper(dev), 200);
    },
  );
}
