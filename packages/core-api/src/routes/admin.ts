import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '@mosis/shared';
import { requireAdmin } from '../auth/admin.js';
import type { CoreApp, CoreContext, CoreDeps } from '../context.js';
import { BEARER, errorResponses, jsonBody, jsonResponse } from '../openapi.js';
import { pageQuerySchema } from '../pagination.js';
import { AppSchema, displayText, VersionSchema, VersionStatusSchema } from '../schemas.js';
import { publicApp } from '../store/apps.js';
import { publicVersion, versionsInStatus } from '../store/versions.js';
import { decide, MAX_REVIEW_NOTES_CHARS, setSuspended, type Actor, type ReviewDecision } from '../review/workflow.js';

const QueuedVersionSchema = VersionSchema.extend({ package_id: z.string(), app_name: z.string() }).openapi('QueuedVersion');

const AppRef = z.string().openapi({ description: 'app id or package_id' });
const VersionParams = z.object({ app: AppRef, code: z.string().openapi({ description: 'version_code' }) });
const NotesBody = z.object({ notes: displayText(MAX_REVIEW_NOTES_CHARS) }).openapi('ReviewNotes');
const ReasonBody = z.object({ reason: displayText(MAX_REVIEW_NOTES_CHARS).optional() }).openapi('SuspendReason');

function actor(c: CoreContext): Actor {
  const client = c.get('client');
  return { via: 'admin', ip: client?.ip ?? null, userAgent: client?.userAgent ?? null };
}

/** version_code from a path; anything not a positive integer is no version (404). */
function code(text: string): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) < 1) throw ApiError.notFound('version not found');
  return Number(text);
}

/** Operator routes behind ADMIN_TOKEN: the review queue and decisions, suspending apps. */
export function register(app: CoreApp, deps: CoreDeps): void {
  const db = deps.portal;
  const admin = requireAdmin(deps.config.ADMIN_TOKEN);
  const adminErrors = errorResponses(401, 403, 404, 409);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/versions',
      tags: ['admin'],
      summary: 'Versions in a review state across all apps, oldest first (default: in review)',
      security: BEARER,
      middleware: admin,
      request: { query: pageQuerySchema.pick({ limit: true }).extend({ status: VersionStatusSchema.default('review') }) },
      responses: { 200: jsonResponse(z.object({ items: z.array(QueuedVersionSchema) }), 'the queue'), ...errorResponses(400, 401, 403, 404) },
    }),
    (c) => {
      const { status, limit } = c.req.valid('query');
      const rows = versionsInStatus(db, status, limit);
      return c.json({ items: rows.map((r) => ({ ...publicVersion(r), package_id: r.package_id, app_name: r.app_name })) }, 200);
    },
  );

  const decision = (name: ReviewDecision, summary: string, withNotes: boolean) =>
    app.openapi(
      createRoute({
        method: 'post',
        path: `/v1/admin/apps/{app}/versions/{code}/${name}`,
        tags: ['admin'],
        summary,
        security: BEARER,
        middleware: admin,
        request: withNotes ? { params: VersionParams, body: jsonBody(NotesBody) } : { params: VersionParams },
        responses: { 200: jsonResponse(VersionSchema, 'the version'), ...adminErrors, ...errorResponses(400) },
      }),
      async (c) => {
        const params = c.req.valid('param');
        const notes = withNotes ? ((await c.req.json()) as { notes: string }).notes : undefined;
        const version = decide(db, params.app, code(params.code), name, actor(c), notes);
        // Publishing may take the app from draft to published.
        await deps.appRegistry?.changed(version.app_id);
        return c.json(publicVersion(version), 200);
      },
    );
  decision('approve', 'Approve a version in review (review → approved)', false);
  decision('reject', 'Reject a version with notes for the developer (review or approved → rejected)', true);
  decision('publish', 'Publish an approved version (sets published_at; the app enters the catalog)', false);

  for (const [name, suspended] of [['suspend', true], ['reinstate', false]] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/v1/admin/apps/{app}/${name}`,
        tags: ['admin'],
        summary: suspended
          ? 'Suspend an app: out of the catalog, and ingest refuses its events'
          : 'Reinstate a suspended app (published again if it has a published version)',
        security: BEARER,
        middleware: admin,
        request: { params: z.object({ app: AppRef }), body: { required: false, content: { 'application/json': { schema: ReasonBody } } } },
        responses: { 200: jsonResponse(AppSchema, 'the app'), ...adminErrors },
      }),
      async (c) => {
        const reason = (c.req.valid('json') as { reason?: string } | undefined)?.reason;
        const updated = setSuspended(db, c.req.valid('param').app, suspended, actor(c), reason);
        await deps.appRegistry?.changed(updated.id);
        return c.json(publicApp(updated), 200);
      },
    );
  }
}
