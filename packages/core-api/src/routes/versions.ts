import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '@mosis/shared';
import { audit } from '../audit.js';
import { requireAuth } from '../auth/middleware.js';
import { caller, type CoreApp, type CoreDeps } from '../context.js';
import { BEARER, errorResponses, IdParam, jsonBody, jsonResponse } from '../openapi.js';
import { loadOwnedApp } from '../ownership.js';
import { decodeCursor, pageQuerySchema, pageSchema, seqCursorSchema, toPage } from '../pagination.js';
import { displayName, displayText, VersionSchema } from '../schemas.js';
import {
  insertVersion,
  maxVersionCode,
  publicVersion,
  transitionVersion,
  versionByCode,
  listVersions,
} from '../store/versions.js';
import { packageMissing } from '../package-files/errors.js';
import { downloadPath } from '../package-files/urls.js';
import { SignatureSchema } from '../schemas.js';

/** Largest version_code (a signed 32-bit integer, as on most app platforms). */
export const MAX_VERSION_CODE = 2_147_483_647;
/** Largest package a version may declare: 4 GiB. */
export const MAX_PACKAGE_BYTES = 4 * 1024 ** 3;
/** Longest version_name and release notes, in characters. */
export const MAX_VERSION_NAME_CHARS = 64;
export const MAX_RELEASE_NOTES_CHARS = 10_000;

const CreateBody = z
  .object({
    version_code: z.number().int().min(1).max(MAX_VERSION_CODE).openapi({ description: 'must be higher than every earlier version of the app' }),
    version_name: displayName(MAX_VERSION_NAME_CHARS),
    package_url: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .max(2048)
      .optional()
      .openapi({ description: 'optional, informational: devices download the uploaded package from the catalog (PUT .../package)' }),
    package_size: z.number().int().min(1).max(MAX_PACKAGE_BYTES).openapi({ description: 'bytes' }),
    signature: SignatureSchema,
    permissions: z
      .array(z.string().regex(/^[a-z][a-z0-9_.:-]{0,63}$/, 'must be a permission name like camera or net.http'))
      .max(64)
      .transform((p) => [...new Set(p)])
      .optional(),
    min_mosis_version: z.string().regex(/^\d{1,5}(\.\d{1,5}){1,2}$/, 'must be a version like 1.4 or 1.4.2').nullable().optional(),
    release_notes: displayText(MAX_RELEASE_NOTES_CHARS).nullable().optional(),
  })
  .openapi('CreateVersionRequest', {
    example: {
      version_code: 3,
      version_name: '1.2.0',
      package_url: 'https://cdn.example.com/camera-1.2.0.mpk',
      package_size: 1_234_567,
      signature: 'BlnjMFSPhqgsvVbPH4MTIg72UxCFRKzR5LVsF5xY0VX6QF33traMn3lRf6NgXqcmw2dcrHVa1OK0WT2vekib5w==',
      permissions: ['camera', 'net.http'],
      min_mosis_version: '1.4',
      release_notes: 'Starts twice as fast.',
    },
  });

/** The version code in a path: digits only; anything else is no version, so 404 (never a 400 or 500). */
export function parseCode(text: string): number {
  const code = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(code) || code < 1 || code > MAX_VERSION_CODE) throw ApiError.notFound('version not found');
  return code;
}

/** Versions of the caller's apps: create, list, submit for review. */
export function register(app: CoreApp, deps: CoreDeps): void {
  const db = deps.portal;
  const read = requireAuth(db, 'apps:read');
  const write = requireAuth(db, 'apps:write');
  const AppParams = z.object({ id: IdParam });

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/apps/{id}/versions',
      tags: ['versions'],
      summary: 'Create a version (a draft)',
      description: '`version_code` must be higher than every earlier version of the app: a duplicate or lower code is 409.',
      security: BEARER,
      middleware: write,
      request: { params: AppParams, body: jsonBody(CreateBody) },
      responses: { 201: jsonResponse(VersionSchema, 'the new version'), ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
    }),
    (c) => {
      const who = caller(c);
      const body = c.req.valid('json');
      const row = db.transaction(() => {
        const owned = loadOwnedApp(c, db, c.req.valid('param').id);
        if (owned.status === 'suspended') throw ApiError.conflict('the app is suspended');
        const highest = maxVersionCode(db, owned.id);
        if (body.version_code <= highest) {
          throw ApiError.conflict(`version_code must be higher than ${highest}`, { version_code: body.version_code, highest });
        }
        const created = insertVersion(db, owned.id, {
          version_code: body.version_code,
          version_name: body.version_name,
          package_url: body.package_url ?? downloadPath(owned.package_id, body.version_code),
          package_size: body.package_size,
          signature: body.signature,
          permissions: body.permissions ?? [],
          min_mosis_version: body.min_mosis_version ?? null,
          release_notes: body.release_notes ?? null,
        });
        audit(c, db, {
          developerId: who.developerId,
          action: 'version.created',
          resourceType: 'version',
          resourceId: created.id,
          details: { app_id: owned.id, version_code: created.version_code },
        });
        return created;
      }).immediate();
      return c.json(publicVersion(row), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps/{id}/versions',
      tags: ['versions'],
      summary: "An app's versions, newest (highest version_code) first",
      security: BEARER,
      middleware: read,
      request: { params: AppParams, query: pageQuerySchema },
      responses: { 200: jsonResponse(pageSchema(VersionSchema), 'a page of versions'), ...errorResponses(400, 401, 403, 404) },
    }),
    (c) => {
      const owned = loadOwnedApp(c, db, c.req.valid('param').id);
      const { limit, cursor } = c.req.valid('query');
      const before = decodeCursor(cursor, seqCursorSchema.max(MAX_VERSION_CODE));
      return c.json(toPage(listVersions(db, owned.id, limit + 1, before), limit, publicVersion, (r) => r.version_code), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/apps/{id}/versions/{code}/submit',
      tags: ['versions'],
      summary: 'Submit a draft version for review (draft → review)',
      description:
        'Needs an uploaded package whose signature verified (PUT .../package): without one, 409 `package_missing`. ' +
        'An operator then approves or rejects it (ops review, or /v1/admin).',
      security: BEARER,
      middleware: write,
      request: { params: z.object({ id: IdParam, code: z.string().openapi({ description: 'version_code' }) }) },
      responses: { 200: jsonResponse(VersionSchema, 'the version, now in review'), ...errorResponses(401, 403, 404, 409) },
    }),
    (c) => {
      const who = caller(c);
      const params = c.req.valid('param');
      const row = db.transaction(() => {
        const owned = loadOwnedApp(c, db, params.id);
        const code = parseCode(params.code);
        const current = versionByCode(db, owned.id, code);
        if (!current) throw ApiError.notFound('version not found');
        if (owned.status === 'suspended') throw ApiError.conflict('the app is suspended');
        if (current.status === 'draft' && current.package_sha256 === null) throw packageMissing();
        const moved = transitionVersion(db, owned.id, code, 'draft', 'review');
        if (!moved) throw ApiError.conflict(`only a draft can be submitted; this version is ${current.status}`, { status: current.status });
        audit(c, db, { developerId: who.developerId, action: 'version.submitted', resourceType: 'version', resourceId: moved.id, details: { app_id: owned.id, version_code: code } });
        return moved;
      }).immediate();
      return c.json(publicVersion(row), 200);
    },
  );
}
