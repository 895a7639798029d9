import { createRoute, z } from '@hono/zod-openapi';
import { ApiError, type DB } from '@mosis/shared';
import { audit } from '../audit.js';
import { requireAuth } from '../auth/middleware.js';
import { caller, type CoreApp, type CoreDeps } from '../context.js';
import { BEARER, errorResponses, IdParam, jsonBody, jsonResponse } from '../openapi.js';
import { loadOwnedApp } from '../ownership.js';
import { decodeCursor, pageQuerySchema, pageSchema, seqCursorSchema, toPage } from '../pagination.js';
import {
  AppDetailSchema,
  AppSchema,
  CategorySchema,
  DescriptionSchema,
  DisplayNameSchema,
  PackageIdSchema,
  TagsSchema,
} from '../schemas.js';
import { deleteApp, insertApp, listApps, packageReservedBy, publicApp, updateApp, type AppRow } from '../store/apps.js';
import { jsonArray, nowIso } from '../store/prepare.js';
import { latestVersion, publicVersion } from '../store/versions.js';

const CreateBody = z
  .object({
    package_id: PackageIdSchema,
    name: DisplayNameSchema,
    description: DescriptionSchema.nullable().optional(),
    category: CategorySchema.nullable().optional(),
    tags: TagsSchema.optional(),
  })
  .openapi('CreateAppRequest', {
    example: { package_id: 'com.example.camera', name: 'Camera', description: 'Photos and short videos with one tap.', category: 'photography', tags: ['camera', 'photo'] },
  });

const PatchBody = z
  .object({
    name: DisplayNameSchema.optional(),
    description: DescriptionSchema.nullable().optional(),
    category: CategorySchema.nullable().optional(),
    tags: TagsSchema.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'give at least one of name, description, category, tags')
  .openapi('PatchAppRequest', { description: 'package_id and status cannot be changed here' });

const AppParams = z.object({ id: IdParam });

/** An app with its latest version, the shape of every single-app answer. */
export function appDetail(db: DB, row: AppRow) {
  const latest = latestVersion(db, row.id);
  return { ...publicApp(row), latest_version: latest ? publicVersion(latest) : null };
}

/** The caller's apps: create, list, get, patch, delete. Reads need `apps:read`, changes `apps:write`. */
export function register(app: CoreApp, deps: CoreDeps): void {
  const db = deps.portal;
  const read = requireAuth(db, 'apps:read');
  const write = requireAuth(db, 'apps:write');

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/apps',
      tags: ['apps'],
      summary: 'Create an app',
      description:
        '`package_id` is a reverse-domain name, unique across the portal: 409 if an app has it, or had it and was ' +
        'deleted by another developer (a deleted app\'s package_id stays reserved to its developer, who may create it again).',
      security: BEARER,
      middleware: write,
      request: { body: jsonBody(CreateBody) },
      responses: { 201: jsonResponse(AppDetailSchema, 'the new app'), ...errorResponses(400, 401, 403, 409, 413, 415) },
    }),
    async (c) => {
      const who = caller(c);
      const body = c.req.valid('json');
      const row = db.transaction(() => {
        const taken = () => ApiError.conflict('package_id is already taken', { package_id: body.package_id });
        const reservedBy = packageReservedBy(db, body.package_id);
        if (reservedBy !== undefined && reservedBy !== who.developerId) throw taken();
        const created = insertApp(db, who.developerId, body.package_id, {
          name: body.name,
          description: body.description ?? null,
          category: body.category ?? null,
          tags: body.tags ?? [],
        });
        if (!created) throw taken();
        audit(c, db, { developerId: who.developerId, action: 'app.created', resourceType: 'app', resourceId: created.id, details: { package_id: created.package_id } });
        return created;
      }).immediate();
      // Known to ingest (TELEMETRY_DATABASE_URL) before the developer hears of the app.
      await deps.appRegistry?.changed(row.id);
      return c.json(appDetail(db, row), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps',
      tags: ['apps'],
      summary: "List the caller's apps, newest first",
      security: BEARER,
      middleware: read,
      request: { query: pageQuerySchema },
      responses: { 200: jsonResponse(pageSchema(AppSchema), 'a page of apps'), ...errorResponses(400, 401, 403) },
    }),
    (c) => {
      const { limit, cursor } = c.req.valid('query');
      const rows = listApps(db, caller(c).developerId, limit + 1, decodeCursor(cursor, seqCursorSchema));
      return c.json(toPage(rows, limit, publicApp, (r) => r.seq), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps/{id}',
      tags: ['apps'],
      summary: 'One app with its latest version',
      security: BEARER,
      middleware: read,
      request: { params: AppParams },
      responses: { 200: jsonResponse(AppDetailSchema, 'the app'), ...errorResponses(401, 403, 404) },
    }),
    (c) => c.json(appDetail(db, loadOwnedApp(c, db, c.req.valid('param').id)), 200),
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/apps/{id}',
      tags: ['apps'],
      summary: "Change an app's name, description, category or tags",
      security: BEARER,
      middleware: write,
      request: { params: AppParams, body: jsonBody(PatchBody) },
      responses: { 200: jsonResponse(AppDetailSchema, 'the changed app'), ...errorResponses(400, 401, 403, 404, 413, 415) },
    }),
    async (c) => {
      const who = caller(c);
      const body = c.req.valid('json');
      const row = db.transaction(() => {
        const current = loadOwnedApp(c, db, c.req.valid('param').id);
        const updated = updateApp(
          db,
          current.id,
          {
            name: body.name ?? current.name,
            description: body.description === undefined ? current.description : body.description,
            category: body.category === undefined ? current.category : body.category,
            tags: body.tags ?? jsonArray(current.tags),
          },
          nowIso(),
        );
        audit(c, db, { developerId: who.developerId, action: 'app.updated', resourceType: 'app', resourceId: current.id, details: { fields: Object.keys(body) } });
        return updated;
      }).immediate();
      await deps.appRegistry?.changed(row.id);
      return c.json(appDetail(db, row), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/apps/{id}',
      tags: ['apps'],
      summary: 'Delete an app and all its versions',
      description:
        'Its package_id stays reserved to the caller: no other developer can create an app with it. ' +
        'A suspended app cannot be deleted (409): only the operator can reinstate it.',
      security: BEARER,
      middleware: write,
      request: { params: AppParams },
      responses: { 204: { description: 'deleted' }, ...errorResponses(401, 403, 404, 409) },
    }),
    async (c) => {
      const who = caller(c);
      const id = db.transaction(() => {
        const current = loadOwnedApp(c, db, c.req.valid('param').id);
        if (current.status === 'suspended') {
          throw ApiError.conflict('the app is suspended and cannot be deleted; the portal operator can reinstate it', { status: current.status });
        }
        deleteApp(db, current);
        audit(c, db, { developerId: who.developerId, action: 'app.deleted', resourceType: 'app', resourceId: current.id, details: { package_id: current.package_id } });
        return current.id;
      }).immediate();
      await deps.appRegistry?.changed(id);
      return c.body(null, 204);
    },
  );
}
