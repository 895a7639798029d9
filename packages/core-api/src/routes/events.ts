import { createRoute, z } from '@hono/zod-openapi';
import type { RawEvent } from '@mosis/ingest';
import { ApiError } from '@mosis/shared';
import { withPosition } from '../analytics/positions.js';
import { EventTypeParam } from '../analytics/range.js';
import { requireAuth } from '../auth/middleware.js';
import type { CoreApp, CoreDeps } from '../context.js';
import { DEFAULT_EVENTS_PAGE_LIMIT, MAX_EVENTS_PAGE_LIMIT, MAX_TAIL_POSITION_CHARS } from '../limits.js';
import { BEARER, errorResponses, IdParam } from '../openapi.js';
import { loadOwnedApp } from '../ownership.js';

/**
 * Raw events of the caller's own apps: a newest-first listing within the raw retention, and the live tail of
 * what is stored after a position (`after`). Needs `analytics:read`.
 */

const EVENT_EXAMPLE = {
  event_id: '0193f1c2-6c1e-7a53-9d1e-2b7f5a0c4e11',
  event_type: 'app_open',
  timestamp: '2026-11-28T10:00:00.000Z',
  received_at: '2026-11-28T10:00:05.012Z',
  device: '9f2c41d07a3be815',
  mosis_version: '1.4.2',
  app_version: '1.2.0',
  data: { screen: 'home' },
};
const HEAD_EXAMPLE = 'eyIyMDI2LTExIjo4MTkyMH0';

const RawEventSchema = z
  .object({
    event_id: z.string().nullable().openapi({ description: 'the event_id the device sent (UUID), if any' }),
    event_type: z.string(),
    timestamp: z.string().openapi({ description: 'when it happened (device clock, corrected by sent_at), RFC 3339 UTC' }),
    received_at: z.string().nullable().openapi({ description: 'when the server stored it; null for events stored before this field existed' }),
    device: z.string().openapi({ description: 'the stored keyed hash of the device id (16 hex digits), never the raw id' }),
    mosis_version: z.string().nullable(),
    app_version: z.string().nullable(),
    data: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi('RawEvent', { example: EVENT_EXAMPLE });

const EventsPage = z
  .object({
    items: z.array(RawEventSchema),
    next_cursor: z.string().nullable().openapi({ description: 'pass as `cursor` for the next (older) page; null on the last' }),
    head: z.string().openapi({ description: 'the storage position now: pass it as `after` to tail what is stored from now on' }),
  })
  .openapi('EventsPage', { example: { items: [EVENT_EXAMPLE], next_cursor: 'WzE3OTY0NjQwMDAwMDAsNDIxMF0', head: HEAD_EXAMPLE } });

const TailPage = z
  .object({
    items: z.array(RawEventSchema).openapi({ description: 'events stored after `after`, oldest stored first; each stored event is in exactly one answer' }),
    head: z.string().openapi({ description: 'pass as `after` in the next poll' }),
  })
  .openapi('EventsTail', { example: { items: [EVENT_EXAMPLE], head: 'eyIyMDI2LTExIjo4MTkyMX0' } });

/** An RFC 3339 time with a zone, in a query. */
const TimeParam = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 time with a zone, e.g. 2026-11-28T10:00:00Z' });

/** The listing's parameters; `after` (the tail) allows only `limit` beside it. */
const LISTING = ['from', 'to', 'event_type', 'device_id', 'cursor'] as const;

export function register(app: CoreApp, deps: CoreDeps): void {
  const guard = requireAuth(deps.portal, 'analytics:read');

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/apps/{id}/events',
      tags: ['analytics'],
      summary: 'Raw events, newest first; or, with `after`, the live tail of what is stored',
      description:
        'Listing (without `after`): events within the raw retention (RETENTION_DAYS, default 90 days), newest ' +
        'first by `timestamp`, optionally between `from` and `to` (both included), of one `event_type`, or of one ' +
        'device (`device_id` is the raw id the device sends: the server hashes it as ingest does). `next_cursor` ' +
        'pages on; `head` is the storage position at this answer.\n\n' +
        'Tail (`after` = a `head`): the events stored after that position, in the order they were stored, up ' +
        'to `limit`, and a new `head`. Poll again with the new head (every second or so): every stored event is in ' +
        'exactly one answer, late ones (old timestamps) included. A poll reads a bounded part of what was stored ' +
        'since its position (all apps\' events count), so one far behind may answer fewer than `limit` events and ' +
        'catch up over several polls. `after` takes only `limit` beside it: with a listing parameter it is a 400. ' +
        `\`limit\`: 1 to ${MAX_EVENTS_PAGE_LIMIT}, default ${DEFAULT_EVENTS_PAGE_LIMIT}.`,
      security: BEARER,
      middleware: guard,
      request: {
        params: z.object({ id: IdParam }),
        query: z.object({
          from: TimeParam.optional().openapi({ description: 'earliest timestamp (included), RFC 3339', example: '2026-11-28T00:00:00Z' }),
          to: TimeParam.optional().openapi({ description: 'latest timestamp (included), RFC 3339', example: '2026-11-28T23:59:59.999Z' }),
          event_type: EventTypeParam.optional(),
          device_id: z.string().min(1).max(256).optional().openapi({ description: 'a raw device id, as devices send it', example: 'raw device identifier' }),
          limit: z.coerce.number().int().min(1).max(MAX_EVENTS_PAGE_LIMIT).default(DEFAULT_EVENTS_PAGE_LIMIT).openapi({ description: `1 to ${MAX_EVENTS_PAGE_LIMIT}` }),
          cursor: z.string().max(512).optional().openapi({ description: 'the `next_cursor` of the previous page' }),
          after: z.string().max(MAX_TAIL_POSITION_CHARS).optional().openapi({ description: 'a `head` from an earlier answer: tail what was stored after it', example: HEAD_EXAMPLE }),
        }),
      },
      responses: {
        200: {
          description: 'a page of the listing (`EventsPage`) or, with `after`, of the tail (`EventsTail`)',
          content: { 'application/json': { schema: z.union([EventsPage, TailPage]), example: { items: [EVENT_EXAMPLE], next_cursor: null, head: HEAD_EXAMPLE } } },
        },
        ...errorResponses(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      if (q.after !== undefined) {
        const mixed = LISTING.filter((k) => q[k] !== undefined);
        if (mixed.length) {
          throw ApiError.badRequest(
            `after: a tail takes only limit beside it, not ${mixed.join(', ')} (list with those first, then tail from its head)`,
            { after_with: mixed },
            'invalid_query',
          );
        }
      }
      const fromMs = q.from !== undefined ? Date.parse(q.from) : 0;
      const toMs = q.to !== undefined ? Date.parse(q.to) : Number.MAX_SAFE_INTEGER;
      if (fromMs > toMs) throw ApiError.badRequest('from: must not be after to', { from: q.from, to: q.to }, 'invalid_query');
      const owned = loadOwnedApp(c, deps.portal, c.req.valid('param').id);

      if (q.after !== undefined) {
        const after = q.after;
        const page = await withPosition('after', () => deps.telemetry.tail({ appId: owned.id, after, limit: q.limit }));
        return c.json({ items: page.items.map(eventItem), head: page.head }, 200);
      }
      const cursor = q.cursor === '' ? undefined : q.cursor;
      const page = await withPosition('cursor', () =>
        deps.telemetry.events({ appId: owned.id, fromMs, toMs, eventType: q.event_type, deviceId: q.device_id, limit: q.limit, cursor }),
      );
      return c.json({ items: page.items.map(eventItem), next_cursor: page.next_cursor, head: page.head }, 200);
    },
  );
}

function eventItem(e: RawEvent) {
  return {
    ...e,
    timestamp: new Date(e.timestamp).toISOString(),
    received_at: e.received_at === null ? null : new Date(e.received_at).toISOString(),
  };
}
