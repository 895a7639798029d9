import { createRoute, z } from '@hono/zod-openapi';
import type { BreakdownBy } from '@mosis/ingest';
import { ApiError } from '@mosis/shared';
import { CSV_TYPE, csvResponse, toCsv, wantsCsv } from '../analytics/csv.js';
import { daysOf, EventTypeParam, RangeQuery, rawRetentionStart, resolveRange } from '../analytics/range.js';
import { requireAuth } from '../auth/middleware.js';
import type { CoreApp, CoreDeps } from '../context.js';
import { DEFAULT_BREAKDOWN_ITEMS, MAX_BREAKDOWN_ITEMS, MAX_RANGE_DAYS, MAX_SERIES_ITEMS, SUMMARY_TOP_EVENT_TYPES } from '../limits.js';
import { BEARER, errorResponses, IdParam } from '../openapi.js';
import { loadOwnedApp } from '../ownership.js';

/**
 * Aggregate analytics of the caller's own apps: the daily series, active devices, breakdowns and a summary,
 * read through the telemetry store's TelemetryReads (ingest's package owns the tables). Needs `analytics:read`.
 */

const DailyItem = z
  .object({ date: z.string(), event_type: z.string(), count: z.number().int(), unique_devices: z.number().int() })
  .openapi('DailyCount');
const DAILY_EXAMPLE = {
  items: [
    { date: '2026-11-27', event_type: 'app_open', count: 1520, unique_devices: 311 },
    { date: '2026-11-27', event_type: 'purchase', count: 12, unique_devices: 9 },
    { date: '2026-11-28', event_type: 'app_open', count: 1488, unique_devices: 305 },
    { date: '2026-11-28', event_type: 'purchase', count: 0, unique_devices: 0 },
  ],
};
const DailyResponse = z.object({ items: z.array(DailyItem) }).openapi('DailySeries', { example: DAILY_EXAMPLE });

const ACTIVE_EXAMPLE = {
  items: [
    { period_start: '2026-11-16', devices: 1204 },
    { period_start: '2026-11-23', devices: 1311 },
  ],
  total_devices: 1873,
};
const ActiveDevicesResponse = z
  .object({
    items: z.array(
      z.object({
        period_start: z.string().openapi({ description: 'first day of the period: the day, the Monday of an ISO week, the 1st of a month' }),
        devices: z.number().int().openapi({ description: 'distinct devices that sent an event in the period (within the range)' }),
      }),
    ),
    total_devices: z.number().int().openapi({ description: 'distinct devices over the whole range: not the sum of the periods' }),
  })
  .openapi('ActiveDevices', { example: ACTIVE_EXAMPLE });

const BREAKDOWN_EXAMPLE = {
  by: 'app_version',
  items: [
    { value: '2.1.0', count: 48211, devices: 903 },
    { value: '2.0.3', count: 10250, devices: 377 },
    { value: null, count: 1210, devices: 41 },
  ],
  other_count: 388,
};
const BreakdownResponse = z
  .object({
    by: z.string(),
    items: z.array(
      z.object({
        value: z.string().nullable().openapi({ description: 'the value as text (data values: JSON scalars as text, objects and arrays as JSON, at most 256 characters); null = not sent' }),
        count: z.number().int(),
        devices: z.number().int().openapi({ description: 'distinct devices over the range (exact up to 1,000, within 2% beyond)' }),
      }),
    ),
    other_count: z.number().int().openapi({ description: 'events of the values past `limit`, summed' }),
  })
  .openapi('Breakdown', { example: BREAKDOWN_EXAMPLE });

const SUMMARY_EXAMPLE = {
  events: 59671,
  devices: 1873,
  crashes: 96,
  crashed_devices: 52,
  crash_free_devices_pct: 97.22,
  top_event_types: [
    { event_type: 'app_open', count: 30412 },
    { event_type: 'screen_view', count: 27011 },
  ],
};
const SummaryResponse = z
  .object({
    events: z.number().int(),
    devices: z.number().int().openapi({ description: 'distinct devices that sent events or crashes in the range' }),
    crashes: z.number().int(),
    crashed_devices: z.number().int(),
    crash_free_devices_pct: z.number().nullable().openapi({ description: '100 × (devices − crashed_devices) / devices; null without devices' }),
    top_event_types: z.array(z.object({ event_type: z.string(), count: z.number().int() })).openapi({ description: `the ${SUMMARY_TOP_EVENT_TYPES} most frequent, most frequent first` }),
  })
  .openapi('Summary', { example: SUMMARY_EXAMPLE });

/** `by` of a breakdown: a kept dimension, or `data.KEY` for a top-level key of `data`. */
const BY_PATTERN = /^(event_type|mosis_version|app_version|data\.[A-Za-z0-9_]{1,64})$/;

function breakdownBy(by: string): BreakdownBy {
  if (by.startsWith('data.')) return { kind: 'data', key: by.slice(5) };
  return { kind: by as 'event_type' | 'mosis_version' | 'app_version' };
}

/** A JSON answer or, for `Accept: text/csv`, a CSV download of the same rows. */
const seriesContent = <T extends z.ZodType>(schema: T, description: string, csv: string) => ({
  description,
  content: { 'application/json': { schema }, [CSV_TYPE]: { schema: z.string().openapi({ example: csv }) } },
});

export function register(app: CoreApp, deps: CoreDeps): void {
  const guard = requireAuth(deps.portal, 'analytics:read');
  const params = z.object({ id: IdParam });
  const t = deps.telemetry;

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps/{id}/analytics/daily',
      tags: ['analytics'],
      summary: 'Daily event counts and distinct devices',
      description:
        'One item per day and event type from the daily aggregates (at most a minute behind a 202, today included). ' +
        'Every day of the range is present for each event type seen in it (or only `event_type`), with zeros on days ' +
        `without events. At most ${MAX_SERIES_ITEMS} items (days × event types) per answer: a request that would ` +
        'produce more is a 400 `invalid_query` saying so; narrow it with `event_type` or a shorter range. ' +
        '`Accept: text/csv` answers the same items as CSV (`date,event_type,count,unique_devices`), as a download.',
      security: BEARER,
      middleware: guard,
      request: { params, query: RangeQuery.extend({ event_type: EventTypeParam.optional() }) },
      responses: {
        200: seriesContent(DailyResponse, 'the series, by date then event type', 'date,event_type,count,unique_devices\r\n2026-11-28,app_open,1488,305\r\n'),
        ...errorResponses(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const owned = loadOwnedApp(c, deps.portal, c.req.valid('param').id);
      const range = resolveRange(q);
      const maxTypes = Math.floor(MAX_SERIES_ITEMS / range.days);
      // Bounded before anything is built: the range's event types are counted first.
      if (q.event_type === undefined) {
        const types = await t.eventTypeCount({ appId: owned.id, from: range.from, to: range.to });
        if (types > maxTypes) throw tooManyItems(range.days, types);
      }
      const rows = await t.dailyCounts({ appId: owned.id, from: range.from, to: range.to, eventType: q.event_type });
      const types = q.event_type !== undefined ? [q.event_type] : [...new Set(rows.map((r) => r.event_type))].sort();
      // Rows stored since the count may name a type it did not see: the bound holds for what is built.
      if (types.length > maxTypes) throw tooManyItems(range.days, types.length);
      const have = new Map(rows.map((r) => [`${r.date}|${r.event_type}`, r]));
      const items = daysOf(range).flatMap((date) =>
        types.map((event_type) => {
          const r = have.get(`${date}|${event_type}`);
          return { date, event_type, count: r?.count ?? 0, unique_devices: r?.unique_devices ?? 0 };
        }),
      );
      if (wantsCsv(c)) {
        return csvResponse(c, `${owned.package_id}-daily-${range.from}-${range.to}.csv`, toCsv(['date', 'event_type', 'count', 'unique_devices'], items));
      }
      c.header('Vary', 'Accept');
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps/{id}/analytics/active-devices',
      tags: ['analytics'],
      summary: 'Distinct devices per day, ISO week or month, and over the whole range',
      description:
        'One item per period overlapping the range (`interval`: `day`, `week` starting on Monday, or `month`), oldest ' +
        'first, zeros included; a period cut by the range counts only its days within the range. `total_devices` ' +
        'counts each device once over the whole range. Exact up to 1,000 devices, within 2% beyond. ' +
        `Ranges of at most ${MAX_RANGE_DAYS} days. \`Accept: text/csv\` answers the items as CSV (\`period_start,devices\`), ` +
        'with the total in the `X-Total-Devices` header.',
      security: BEARER,
      middleware: guard,
      request: {
        params,
        query: RangeQuery.extend({
          interval: z.enum(['day', 'week', 'month']).default('day').openapi({ description: 'length of a period', example: 'week' }),
        }),
      },
      responses: {
        200: seriesContent(ActiveDevicesResponse, 'devices per period and in total', 'period_start,devices\r\n2026-11-16,1204\r\n2026-11-23,1311\r\n'),
        ...errorResponses(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const owned = loadOwnedApp(c, deps.portal, c.req.valid('param').id);
      const range = resolveRange(q);
      const answer = await t.activeDevices({ appId: owned.id, from: range.from, to: range.to, interval: q.interval });
      if (wantsCsv(c)) {
        return csvResponse(c, `${owned.package_id}-active-devices-${q.interval}-${range.from}-${range.to}.csv`, toCsv(['period_start', 'devices'], answer.items), {
          'X-Total-Devices': String(answer.total_devices),
        });
      }
      c.header('Vary', 'Accept');
      return c.json(answer, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps/{id}/analytics/breakdown',
      tags: ['analytics'],
      summary: 'Events and devices by event type, Mosis version, app version or a key of data',
      description:
        '`by`: `event_type`, `mosis_version`, `app_version`, or `data.KEY` for a top-level key of the events\' `data` ' +
        '(KEY: 1-64 characters of A-Z a-z 0-9 _). Most frequent first (ties by value); the first `limit` values ' +
        `(at most ${MAX_BREAKDOWN_ITEMS}) are listed and the rest summed in \`other_count\`. \`value\` null means the ` +
        'events did not carry it. `data.KEY` reads the raw events, so its range must lie within the raw retention ' +
        `(RETENTION_DAYS, default 90 days: \`from\` on or after today − RETENTION_DAYS); the others reach back ${MAX_RANGE_DAYS} days.`,
      security: BEARER,
      middleware: guard,
      request: {
        params,
        query: RangeQuery.extend({
          by: z.string().regex(BY_PATTERN, 'must be event_type, mosis_version, app_version or data.KEY (KEY: 1-64 characters of A-Z a-z 0-9 _)').openapi({ example: 'app_version' }),
          event_type: EventTypeParam.optional().openapi({ description: 'only events of this type' }),
          limit: z.coerce.number().int().min(1).max(MAX_BREAKDOWN_ITEMS).default(DEFAULT_BREAKDOWN_ITEMS).openapi({ description: `values listed, 1 to ${MAX_BREAKDOWN_ITEMS}` }),
        }),
      },
      responses: { 200: { description: 'the values, most frequent first', content: { 'application/json': { schema: BreakdownResponse } } }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const owned = loadOwnedApp(c, deps.portal, c.req.valid('param').id);
      const range = resolveRange(q);
      const by = breakdownBy(q.by);
      if (by.kind === 'data') {
        const kept = rawRetentionStart(deps.config.RETENTION_DAYS);
        if (range.from < kept) {
          throw ApiError.badRequest(
            `from: by=${q.by} reads raw events, kept ${deps.config.RETENTION_DAYS} days: from must be ${kept} or later`,
            { from: range.from, earliest: kept },
            'invalid_query',
          );
        }
      }
      const answer = await t.breakdown({ appId: owned.id, from: range.from, to: range.to, by, eventType: q.event_type, limit: q.limit });
      return c.json({ by: q.by, ...answer }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps/{id}/analytics/summary',
      tags: ['analytics'],
      summary: 'Events, devices, crashes and crash-free devices over a range',
      description:
        '`devices` counts each device that sent an event or a crash in the range once; `crashed_devices` those that ' +
        `crashed. \`top_event_types\`: the ${SUMMARY_TOP_EVENT_TYPES} most frequent. Ranges of at most ${MAX_RANGE_DAYS} days.`,
      security: BEARER,
      middleware: guard,
      request: { params, query: RangeQuery },
      responses: { 200: { description: 'the summary', content: { 'application/json': { schema: SummaryResponse } } }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const owned = loadOwnedApp(c, deps.portal, c.req.valid('param').id);
      const range = resolveRange(q);
      return c.json(await t.summary({ appId: owned.id, from: range.from, to: range.to, topEventTypes: SUMMARY_TOP_EVENT_TYPES }), 200);
    },
  );
}

/** The 400 of a daily series over MAX_SERIES_ITEMS: how big it would be, and how to narrow it. */
function tooManyItems(days: number, eventTypes: number): ApiError {
  const items = days * eventTypes;
  return ApiError.badRequest(
    `this series would have at least ${items} items (${days} days × at least ${eventTypes} event types); ` +
      `an answer holds at most ${MAX_SERIES_ITEMS}: ask for one event_type, or a shorter from..to range`,
    { days, event_types_at_least: eventTypes, items_at_least: items, max_items: MAX_SERIES_ITEMS },
    'invalid_query',
  );
}
