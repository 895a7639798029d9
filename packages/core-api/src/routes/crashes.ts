import { createRoute, z } from '@hono/zod-openapi';
import type { RawCrash } from '@mosis/ingest';
import { withPosition } from '../analytics/positions.js';
import { RangeQuery, resolveRange } from '../analytics/range.js';
import { requireAuth } from '../auth/middleware.js';
import type { CoreApp, CoreDeps } from '../context.js';
import { DEFAULT_CRASH_GROUPS, MAX_APP_VERSIONS_PER_GROUP, MAX_CRASH_GROUPS, MAX_PAGE_LIMIT } from '../limits.js';
import { BEARER, errorResponses, IdParam, jsonResponse } from '../openapi.js';
import { loadOwnedApp } from '../ownership.js';
import { pageQuerySchema, pageSchema } from '../pagination.js';

/** Crash groups and raw crash reports of the caller's own apps, through TelemetryReads. Needs `analytics:read`. */

const CrashGroup = z
  .object({
    fingerprint: z.string(),
    crash_type: z.string(),
    message: z.string().nullable().openapi({ description: 'message of one crash of the group (the first of the range)' }),
    count: z.number().int(),
    devices: z.number().int().openapi({ description: 'distinct devices over the whole range' }),
    first_seen: z.string(),
    last_seen: z.string(),
    app_versions: z.array(z.string()),
  })
  .openapi('CrashGroup');

const CrashReport = z
  .object({
    id: z.string().openapi({ description: 'stable id of the stored report' }),
    crash_id: z.string().nullable().openapi({ description: 'the client-sent crash_id (UUID), if any' }),
    fingerprint: z.string(),
    crash_type: z.string(),
    app_version: z.string(),
    message: z.string().nullable(),
    stack_trace: z.string().nullable(),
    context: z.record(z.string(), z.unknown()).nullable(),
    mosis_version: z.string().nullable(),
    device_id: z.string().openapi({ description: 'keyed hash of the device id (never the raw id)' }),
    timestamp: z.string(),
    received_at: z.string(),
  })
  .openapi('CrashReport');

export function register(app: CoreApp, deps: CoreDeps): void {
  const guard = requireAuth(deps.portal, 'analytics:read');
  const params = z.object({ id: IdParam });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps/{id}/crash-groups',
      tags: ['analytics'],
      summary: 'Crash groups (same fingerprint), most frequent first',
      description:
        'From the daily crash aggregates, which are kept after raw crashes expire. At most `limit` groups ' +
        `(${MAX_CRASH_GROUPS} at most), each with at most ${MAX_APP_VERSIONS_PER_GROUP} app versions (the first in sorted order).`,
      security: BEARER,
      middleware: guard,
      request: {
        params,
        query: RangeQuery.extend({
          limit: z.coerce.number().int().min(1).max(MAX_CRASH_GROUPS).default(DEFAULT_CRASH_GROUPS).openapi({ description: `1 to ${MAX_CRASH_GROUPS}` }),
        }),
      },
      responses: { 200: jsonResponse(z.object({ items: z.array(CrashGroup) }), 'the groups'), ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const owned = loadOwnedApp(c, deps.portal, c.req.valid('param').id);
      const { from, to } = resolveRange(q);
      const groups = await deps.telemetry.crashGroups({ appId: owned.id, from, to, limit: q.limit });
      const items = groups.map((g) => ({
        ...g,
        app_versions: g.app_versions.slice(0, MAX_APP_VERSIONS_PER_GROUP),
        first_seen: new Date(g.first_seen).toISOString(),
        last_seen: new Date(g.last_seen).toISOString(),
      }));
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps/{id}/crashes',
      tags: ['analytics'],
      summary: 'Raw crash reports, newest first',
      description:
        'Reports within the raw retention (RETENTION_DAYS, default 90 days), optionally of one crash group (`fingerprint`). ' +
        `At most \`limit\` reports per page (${MAX_PAGE_LIMIT} at most); a report's stack trace is at most 256 KiB, its context 8 KiB.`,
      security: BEARER,
      middleware: guard,
      request: { params, query: pageQuerySchema.extend({ fingerprint: z.string().min(1).max(128).optional() }) },
      responses: { 200: jsonResponse(pageSchema(CrashReport), 'a page of reports'), ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { limit, cursor, fingerprint } = c.req.valid('query');
      const owned = loadOwnedApp(c, deps.portal, c.req.valid('param').id);
      const page = await withPosition('cursor', () =>
        deps.telemetry.crashes({ appId: owned.id, fingerprint, limit, cursor: cursor === '' ? undefined : cursor }),
      );
      return c.json({ items: page.items.map(crashReport), next_cursor: page.next_cursor }, 200);
    },
  );
}

function crashReport(r: RawCrash) {
  return {
    id: r.id,
    crash_id: r.crash_id,
    fingerprint: r.fingerprint,
    crash_type: r.crash_type,
    app_version: r.app_version,
    message: r.message,
    stack_trace: r.stack_trace,
    context: r.context,
    mosis_version: r.mosis_version,
    device_id: r.device,
    timestamp: new Date(r.timestamp).toISOString(),
    received_at: new Date(r.received_at).toISOString(),
  };
}
