import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '@mosis/shared';
import { requireAuth } from '../auth/middleware.js';
import type { CoreApp, CoreDeps } from '../context.js';
import { BEARER, errorResponses, IdParam, jsonResponse } from '../openapi.js';
import { MAX_APP_VERSIONS_PER_GROUP, MAX_PAGE_LIMIT, MAX_SERIES_ITEMS } from '../limits.js';
import { loadOwnedApp } from '../ownership.js';
import { decodeCursor, encodeCursor, pageQuerySchema, pageSchema, seqCursorSchema } from '../pagination.js';
import { crashGroups, dailySeries, rawCrashes, type CrashPosition, type RawCrashRow } from '../store/analytics.js';

/** Longest range of days one analytics request may span (both ends included). */
export const MAX_RANGE_DAYS = 400;
/** Days covered when `from` is not given: the 30 days ending with `to`. */
export const DEFAULT_RANGE_DAYS = 30;
/** Crash groups returned at most (most frequent first), and by default. */
export const MAX_CRASH_GROUPS = 1_000;
export const DEFAULT_CRASH_GROUPS = 100;

const DAY_MS = 86_400_000;

/** True for a real calendar day written `YYYY-MM-DD` (2026-02-30 is not one). */
function isDay(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const ms = Date.parse(`${s}T00:00:00.000Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === s;
}
const dayMs = (day: string) => Date.parse(`${day}T00:00:00.000Z`);
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

const DayParam = z.string().max(10).openapi({ description: 'UTC day, YYYY-MM-DD', example: '2026-11-01' });
const RangeQuery = z.object({
  from: DayParam.optional().openapi({ description: `first day (included); default: ${DEFAULT_RANGE_DAYS} days before \`to\`` }),
  to: DayParam.optional().openapi({ description: 'last day (included); default: today (UTC)' }),
});

/**
 * The days `from`..`to` of a query: both real days, from <= to, at most MAX_RANGE_DAYS. Anything else is
 * a 400 `invalid_query` naming the problem.
 */
function resolveRange(q: { from?: string; to?: string }, now = Date.now()): { from: string; to: string; days: number } {
  for (const key of ['from', 'to'] as const) {
    const v = q[key];
    if (v !== undefined && !isDay(v)) throw ApiError.badRequest(`${key}: must be a date YYYY-MM-DD`, { [key]: v }, 'invalid_query');
  }
  const to = q.to ?? dayOf(now);
  const from = q.from ?? dayOf(dayMs(to) - (DEFAULT_RANGE_DAYS - 1) * DAY_MS);
  if (from > to) throw ApiError.badRequest('from: must not be after to', { from, to }, 'invalid_query');
  const days = (dayMs(to) - dayMs(from)) / DAY_MS + 1;
  if (days > MAX_RANGE_DAYS) throw ApiError.badRequest(`the range spans ${days} days; at most ${MAX_RANGE_DAYS}`, { from, to }, 'invalid_query');
  return { from, to, days };
}

const DailyItem = z
  .object({ date: z.string(), event_type: z.string(), count: z.number().int(), unique_devices: z.number().int() })
  .openapi('DailyCount');
const DailyResponse = z.object({ items: z.array(DailyItem) }).openapi('DailySeries');

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

/** Latest instant a JavaScript Date can hold (ms): a crash cursor's timestamp lies between 0 and this. */
const MAX_DATE_MS = 8.64e15;
/** (timestamp ms, id in its month partition) of the last crash of a page; both bounded, so any cursor is a 400 or a page. */
const crashCursor = z.tuple([z.number().int().min(0).max(MAX_DATE_MS), seqCursorSchema]);

/** Analytics of the caller's own apps from telemetry.db: daily series, crash groups, raw crashes. Needs `analytics:read`. */
export function register(app: CoreApp, deps: CoreDeps): void {
  const guard = requireAuth(deps.portal, 'analytics:read');
  const params = z.object({ id: IdParam });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps/{id}/analytics/daily',
      tags: ['analytics'],
      summary: 'Daily event counts and distinct devices',
      description:
        'One item per day and event type from the daily aggregates (updated every few minutes). Every day of the range ' +
        'is present for each event type seen in it (or only `event_type`), with zeros on days without events. ' +
        `At most ${MAX_SERIES_ITEMS} items (days × event types) per answer: a request that would produce more is a ` +
        '400 `invalid_query` saying so; narrow it with `event_type` or a shorter range.',
      security: BEARER,
      middleware: guard,
      request: {
        params,
        query: RangeQuery.extend({
          event_type: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . : -').optional(),
        }),
      },
      responses: { 200: jsonResponse(DailyResponse, 'the series, by date then event type'), ...errorResponses(400, 401, 403, 404) },
    }),
    (c) => {
      const q = c.req.valid('query');
      const owned = loadOwnedApp(c, deps.portal, c.req.valid('param').id);
      const { from, to, days } = resolveRange(q);
      const t = deps.telemetry();
      const maxTypes = Math.floor(MAX_SERIES_ITEMS / days);
      const series = t ? dailySeries(t, owned.id, from, to, q.event_type, maxTypes) : { kind: 'ok' as const, rows: [] };
      if (series.kind === 'too_many_types') {
        const items = days * series.eventTypes;
        throw ApiError.badRequest(
          `this series would have at least ${items} items (${days} days × at least ${series.eventTypes} event types); ` +
            `an answer holds at most ${MAX_SERIES_ITEMS}: ask for one event_type, or a shorter from..to range`,
          { days, event_types_at_least: series.eventTypes, items_at_least: items, max_items: MAX_SERIES_ITEMS },
          'invalid_query',
        );
      }
      const rows = series.rows;
      const types = q.event_type !== undefined ? [q.event_type] : [...new Set(rows.map((r) => r.event_type))].sort();
      const have = new Map(rows.map((r) => [`${r.date}|${r.event_type}`, r]));
      const items = [];
      for (let i = 0; i < days; i++) {
        const date = dayOf(dayMs(from) + i * DAY_MS);
        for (const event_type of types) {
          const r = have.get(`${date}|${event_type}`);
          items.push({ date, event_type, count: r?.count ?? 0, unique_devices: r?.unique_devices ?? 0 });
        }
      }
      return c.json({ items }, 200);
    },
  );

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
    (c) => {
      const q = c.req.valid('query');
      const owned = loadOwnedApp(c, deps.portal, c.req.valid('param').id);
      const { from, to } = resolveRange(q);
      const t = deps.telemetry();
      const groups = t ? crashGroups(t, owned.id, from, to, q.limit, MAX_APP_VERSIONS_PER_GROUP) : [];
      const items = groups.map((g) => ({ ...g, first_seen: new Date(g.first_seen).toISOString(), last_seen: new Date(g.last_seen).toISOString() }));
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
        'Reports within the raw retention (90 days), optionally of one crash group (`fingerprint`). ' +
        `At most \`limit\` reports per page (${MAX_PAGE_LIMIT} at most); a report's stack trace is at most 256 KiB, its context 8 KiB.`,
      security: BEARER,
      middleware: guard,
      request: { params, query: pageQuerySchema.extend({ fingerprint: z.string().min(1).max(128).optional() }) },
      responses: { 200: jsonResponse(pageSchema(CrashReport), 'a page of reports'), ...errorResponses(400, 401, 403, 404) },
    }),
    (c) => {
      const { limit, cursor, fingerprint } = c.req.valid('query');
      const owned = loadOwnedApp(c, deps.portal, c.req.valid('param').id);
      const after = decodeCursor(cursor, crashCursor) as CrashPosition | undefined;
      const t = deps.telemetry();
      const rows = t ? rawCrashes(t, owned.id, fingerprint, limit + 1, after) : [];
      const more = rows.length > limit;
      const kept = more ? rows.slice(0, limit) : rows;
      const last = kept[kept.length - 1];
      return c.json({ items: kept.map(crashReport), next_cursor: more && last ? encodeCursor([last.timestamp, last.id]) : null }, 200);
    },
  );
}

function crashReport(r: RawCrashRow) {
  return {
    id: `${r.month.replace('-', '')}-${r.id}`,
    crash_id: r.crash_id ? uuid(r.crash_id) : null,
    fingerprint: r.fingerprint,
    crash_type: r.crash_type,
    app_version: r.app_version,
    message: r.message,
    stack_trace: r.stack_trace,
    context: r.context ? (JSON.parse(r.context) as Record<string, unknown>) : null,
    mosis_version: r.mosis_version,
    device_id: r.device_id,
    timestamp: new Date(r.timestamp).toISOString(),
    received_at: new Date(r.created_at).toISOString(),
  };
}

function uuid(b: Buffer): string {
  const h = b.toString('hex');
  return h.length === 32 ? `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` : h;
}
