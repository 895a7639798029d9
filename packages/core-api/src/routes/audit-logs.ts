import { createRoute, z } from '@hono/zod-openapi';
import { requireAuth } from '../auth/middleware.js';
import { caller, type CoreApp, type CoreDeps } from '../context.js';
import { BEARER, errorResponses, jsonResponse } from '../openapi.js';
import { decodeCursor, pageQuerySchema, pageSchema, seqCursorSchema, toPage } from '../pagination.js';
import { listAudit, publicAudit } from '../store/audit.js';

const AuditLogSchema = z
  .object({
    id: z.number().int(),
    action: z.string().openapi({ example: 'app.created' }),
    resource_type: z.string().nullable(),
    resource_id: z.string().nullable(),
    details: z.unknown().openapi({ description: 'non-secret facts about the change' }),
    ip_address: z.string().nullable(),
    user_agent: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('AuditLog');

/**
 * `GET /v1/audit-logs`: the caller's own trail, newest first. It holds IP addresses, so an API key needs
 * `keys:write` (the account-management permission) to read it; a session always can.
 */
export function register(app: CoreApp, deps: CoreDeps): void {
  const db = deps.portal;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/audit-logs',
      tags: ['audit'],
      summary: "The caller's audit trail, newest first",
      description: 'Every mutation (account, session, keys, apps, versions, review decisions) with IP and user agent. API keys need `keys:write`.',
      security: BEARER,
      middleware: requireAuth(db, 'keys:write'),
      request: { query: pageQuerySchema },
      responses: { 200: jsonResponse(pageSchema(AuditLogSchema), 'a page of the trail'), ...errorResponses(400, 401, 403) },
    }),
    (c) => {
      const { limit, cursor } = c.req.valid('query');
      const rows = listAudit(db, caller(c).developerId, limit + 1, decodeCursor(cursor, seqCursorSchema));
      return c.json(toPage(rows, limit, publicAudit, (r) => r.id), 200);
    },
  );
}
