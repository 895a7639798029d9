import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '@mosis/shared';
import { audit } from '../audit.js';
import { requireAuth } from '../auth/middleware.js';
import { permissionSchema } from '../auth/permissions.js';
import { newApiKey } from '../auth/tokens.js';
import { caller, type CoreApp, type CoreDeps } from '../context.js';
import { MAX_API_KEYS_PER_DEVELOPER } from '../limits.js';
import { BEARER, errorResponses, IdParam, jsonBody, jsonResponse } from '../openapi.js';
import { decodeCursor, pageQuerySchema, pageSchema, seqCursorSchema, toPage } from '../pagination.js';
import { DisplayNameSchema, TimestampSchema } from '../schemas.js';
import { countApiKeys, insertApiKey, listApiKeys, ownedApiKey, publicApiKey, revokeApiKey } from '../store/api-keys.js';
import { jsonArray, nowIso } from '../store/prepare.js';

const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ description: 'the first characters of the key, for recognising it', example: 'mk_AbC123xy' }),
    permissions: z.array(permissionSchema),
    expires_at: z.string().nullable(),
    last_used_at: z.string().nullable().openapi({ description: 'updated at most once a minute' }),
    revoked_at: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('ApiKey');

const NewApiKeySchema = ApiKeySchema.extend({
  key: z.string().openapi({ description: 'the full key: shown this once, stored only as a hash' }),
}).openapi('NewApiKey', {
  example: {
    id: '9ca8d83c-fc68-4129-8d6d-a1e4e8c67cbe',
    name: 'ci',
    prefix: 'mk_b5jn0g4x',
    permissions: ['apps:read', 'apps:write', 'analytics:read'],
    expires_at: '2027-06-01T00:00:00.000Z',
    last_used_at: null,
    revoked_at: null,
    created_at: '2026-11-28T10:00:00.000Z',
    key: 'mk_b5jn0g4xWKYVauDDAXECeJisWo4JiYhTVyuWn7wFcJ8',
  },
});

const CreateBody = z
  .object({
    name: DisplayNameSchema,
    permissions: z
      .array(permissionSchema)
      .min(1)
      .max(4)
      .refine((p) => new Set(p).size === p.length, 'must not repeat a permission'),
    expires_at: TimestampSchema.optional().openapi({ description: 'ISO-8601, in the future; omit for a key that does not expire' }),
  })
  .openapi('CreateApiKeyRequest', {
    example: { name: 'ci', permissions: ['apps:read', 'apps:write', 'analytics:read'], expires_at: '2027-06-01T00:00:00.000Z' },
  });

/** API keys: create (shown once), list (prefix only), revoke. Needs `keys:write` (sessions have it). */
export function register(app: CoreApp, deps: CoreDeps): void {
  const db = deps.portal;
  const guard = requireAuth(db, 'keys:write');

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/api-keys',
      tags: ['api keys'],
      summary: 'Create an API key',
      description:
        'The full key is in this answer only. An API key may only create keys with permissions it has itself, and an ' +
        'expiring API key only keys that expire no later than itself (403 otherwise); a login session has neither limit.',
      security: BEARER,
      middleware: guard,
      request: { body: jsonBody(CreateBody) },
      responses: { 201: jsonResponse(NewApiKeySchema, 'the new key, in full'), ...errorResponses(400, 401, 403, 409, 413, 415) },
    }),
    (c) => {
      const who = caller(c);
      const body = c.req.valid('json');
      const escalation = body.permissions.filter((p) => !who.permissions.includes(p));
      if (escalation.length) throw ApiError.forbidden(`an API key cannot grant permissions it lacks: ${escalation.join(', ')}`);
      const expiresAt = body.expires_at ? new Date(body.expires_at) : undefined;
      if (expiresAt && expiresAt.getTime() <= Date.now()) {
        throw ApiError.badRequest('expires_at: must be in the future', [{ path: 'expires_at', message: 'must be in the future' }]);
      }
      // An expiring key could otherwise live on through a key it made.
      if (who.keyExpiresAt !== null && (!expiresAt || expiresAt.getTime() > Date.parse(who.keyExpiresAt))) {
        throw new ApiError(
          403,
          'forbidden',
          `expires_at: this API key expires at ${who.keyExpiresAt}; a key it creates must expire by then (set expires_at to that time or earlier)`,
          [{ path: 'expires_at', message: `must be set, at most ${who.keyExpiresAt}` }],
        );
      }
      const { key, hash, prefix } = newApiKey();
      const row = db.transaction(() => {
        if (countApiKeys(db, who.developerId) >= MAX_API_KEYS_PER_DEVELOPER) {
          throw ApiError.conflict(`at most ${MAX_API_KEYS_PER_DEVELOPER} API keys per account`);
        }
        const created = insertApiKey(db, {
          developerId: who.developerId,
          name: body.name,
          hash,
          prefix,
          permissions: body.permissions,
          expiresAt: expiresAt ? expiresAt.toISOString() : null,
        });
        audit(c, db, {
          developerId: who.developerId,
          action: 'api_key.created',
          resourceType: 'api_key',
          resourceId: created.id,
          details: { name: created.name, prefix, permissions: body.permissions },
        });
        return created;
      }).immediate();
      return c.json({ ...publicApiKey(row), key }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/api-keys',
      tags: ['api keys'],
      summary: "List the caller's API keys (prefix only), newest first",
      security: BEARER,
      middleware: guard,
      request: { query: pageQuerySchema },
      responses: { 200: jsonResponse(pageSchema(ApiKeySchema), 'a page of keys'), ...errorResponses(400, 401, 403) },
    }),
    (c) => {
      const { limit, cursor } = c.req.valid('query');
      const rows = listApiKeys(db, caller(c).developerId, limit + 1, decodeCursor(cursor, seqCursorSchema));
      return c.json(toPage(rows, limit, publicApiKey, (r) => r.seq), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/api-keys/{id}',
      tags: ['api keys'],
      summary: 'Revoke an API key',
      description: 'An API key may revoke only keys whose permissions it has itself (403 otherwise); a login session may revoke any.',
      security: BEARER,
      middleware: guard,
      request: { params: z.object({ id: IdParam }) },
      responses: { 204: { description: 'revoked' }, ...errorResponses(401, 403, 404) },
    }),
    (c) => {
      const who = caller(c);
      const { id } = c.req.valid('param');
      db.transaction(() => {
        const target = ownedApiKey(db, who.developerId, id);
        if (!target || target.revoked_at) throw ApiError.notFound('API key not found');
        // Revoking is a power over the key's permissions too: a narrow key must not cut off a broader one.
        const broader = jsonArray(target.permissions).filter((p) => !(who.permissions as readonly string[]).includes(p));
        if (broader.length) throw ApiError.forbidden(`an API key cannot revoke a key with permissions it lacks: ${broader.join(', ')}`);
        const row = revokeApiKey(db, who.developerId, id, nowIso());
        if (!row) throw ApiError.notFound('API key not found');
        audit(c, db, { developerId: who.developerId, action: 'api_key.revoked', resourceType: 'api_key', resourceId: id, details: { prefix: row.key_prefix } });
      }).immediate();
      return c.body(null, 204);
    },
  );
}
