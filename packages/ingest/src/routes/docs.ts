import { createRoute, z } from '@hono/zod-openapi';
import { DEFAULT_MAX_EVENT_TYPES_PER_APP, MAX_BATCH_CRASHES, MAX_BATCH_EVENTS, MAX_CRASHES_BODY_BYTES, MAX_EVENTS_BODY_BYTES } from '../limits.js';
import { APP_VERSION_PATTERN } from '../validation/fields.js';
import { REJECT_REASONS } from '../validation/rejection.js';

/**
 * OpenAPI descriptions of the batch routes. The routes themselves read their bodies by hand (size limits
 * while reading, gzip), so these schemas document; the validation lives in validation/.
 */

/** The contract's examples (API.md), shown on /docs; the crash's placeholders are filled with valid values. */
const EVENTS_EXAMPLE = {
  sent_at: '2026-11-28T10:00:05.000Z',
  events: [
    {
      event_id: '0193f1c2-6c1e-7a53-9d1e-2b7f5a0c4e11',
      app: 'com.dev.app',
      device_id: 'raw device identifier',
      event_type: 'app_open',
      timestamp: '2026-11-28T10:00:00.000Z',
      mosis_version: '1.4.2',
      data: { screen: 'home' },
    },
  ],
};
const CRASHES_EXAMPLE = {
  crashes: [
    {
      crash_id: '0193f1c2-7d2a-7b61-8c3e-5a9b1d0e2f34',
      app: 'com.dev.app',
      app_version: '1.2.0',
      device_id: 'raw device identifier',
      crash_type: 'native_signal',
      message: 'SIGSEGV',
      stack_trace: '#00 pc 000000000004a2c8  /data/app/com.dev.app/lib/arm64/libcam.so (Camera::open()+88)\n#01 pc 0000000000012f40  /system/lib64/libc.so (abort+164)',
      context: { memory_mb: 512 },
      mosis_version: '1.4.2',
      timestamp: '2026-11-28T10:00:00.000Z',
    },
  ],
};
const BATCH_RESPONSE_EXAMPLE = { accepted: 998, duplicates: 1, rejected: [{ index: 3, reason: 'unknown_app' }] };

const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

const BatchResponse = z
  .object({
    accepted: z.number().int().openapi({ description: 'items stored by this request' }),
    duplicates: z.number().int().openapi({ description: 'items whose event_id / crash_id was already stored (a retry): not stored again' }),
    rejected: z.array(
      z.object({
        index: z.number().int(),
        reason: z.enum(REJECT_REASONS as [string, ...string[]]),
        field: z.string().optional(),
        message: z.string().optional(),
        details: z.record(z.string(), z.unknown()).optional().openapi({ description: 'more about the reason: for `timestamp_out_of_window`, `corrected_timestamp`, `earliest` and `latest`' }),
      }),
    ),
  })
  .openapi('BatchResponse', { example: BATCH_RESPONSE_EXAMPLE });

const REASONS_DOC = `Reason codes of rejected items:
- \`invalid_event\` / \`invalid_crash\`: a field is missing or malformed (\`field\` names it), or \`data\` / \`context\` nests deeper than 32 levels
- \`unknown_app\`: no app has this package_id
- \`app_suspended\`: the app is suspended
- \`timestamp_out_of_window\`: after clock correction (by \`sent_at\`), more than 24 h ahead or older than 90 days
- \`data_too_large\`: \`data\` over 8 KiB serialized
- \`context_too_large\`: \`context\` over 8 KiB serialized
- \`stack_trace_too_large\`: \`stack_trace\` over 256 KiB
- \`event_type_limit\`: a new event type of an app that already has MAX_EVENT_TYPES_PER_APP (default ${DEFAULT_MAX_EVENT_TYPES_PER_APP}) types; known types keep working`;

const errors = (maxBytes: number, maxItems: number) => ({
  400: { description: `\`invalid_body\`: not JSON, not valid gzip, no array, over ${maxItems} items, bad \`sent_at\`; \`unsupported_content_encoding\`: not gzip/identity`, content: { 'application/json': { schema: ErrorBody } } },
  413: { description: `\`payload_too_large\`: over ${maxBytes} bytes (after decompression)`, content: { 'application/json': { schema: ErrorBody } } },
  408: { description: '`request_timeout`: the body stopped arriving (HTTP_BODY_IDLE_TIMEOUT_MS) or took longer than HTTP_REQUEST_TIMEOUT_MS; the connection is closed', content: { 'application/json': { schema: ErrorBody } } },
  415: { description: '`unsupported_media_type`: Content-Type is not application/json', content: { 'application/json': { schema: ErrorBody } } },
  503: { description: '`unavailable`: the write queue is full or the service is stopping; retry after `Retry-After` seconds. Nothing of the request was stored.', content: { 'application/json': { schema: ErrorBody } } },
});

const EventIn = z.object({
  event_id: z.string().uuid().optional().openapi({ description: 'idempotency key: a retry with the same id is stored once' }),
  app: z.string().openapi({ example: 'com.dev.app', description: 'package_id' }),
  device_id: z.string().openapi({ description: 'raw device id; stored only as a keyed hash' }),
  event_type: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/),
  timestamp: z.string().openapi({ example: '2026-11-28T10:00:00.000Z' }),
  mosis_version: z.string().optional(),
  app_version: z
    .string()
    .regex(APP_VERSION_PATTERN)
    .optional()
    .openapi({ example: '1.2.0', description: "the app's own version (1-64 characters of A-Z a-z 0-9 . _ + -, e.g. `2.0.0-rc.1+45`), for breakdowns by app version; another character rejects the event (`invalid_event`, field `app_version`)" }),
  data: z.record(z.string(), z.unknown()).optional().openapi({ description: 'at most 8 KiB serialized' }),
});

const CrashIn = z.object({
  crash_id: z.string().uuid().optional(),
  app: z.string(),
  app_version: z.string(),
  device_id: z.string(),
  crash_type: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/),
  message: z.string().optional(),
  stack_trace: z.string().optional().openapi({ description: 'at most 256 KiB' }),
  context: z.record(z.string(), z.unknown()).optional(),
  mosis_version: z.string().optional(),
  timestamp: z.string(),
});

export const eventsRoute = createRoute({
  method: 'post',
  path: '/v1/events',
  tags: ['ingest'],
  summary: 'Send a batch of device events',
  description: `1-${MAX_BATCH_EVENTS} events, body at most ${MAX_EVENTS_BODY_BYTES} bytes after decompression (Content-Encoding: gzip accepted). Answered 202 once every accepted event is committed.\n\n${REASONS_DOC}`,
  request: {
    body: { required: true, content: { 'application/json': { schema: z.object({ sent_at: z.string().optional(), events: z.array(EventIn).min(1).max(MAX_BATCH_EVENTS) }).openapi({ example: EVENTS_EXAMPLE }) } } },
  },
  responses: { 202: { description: 'committed; per-item outcome', content: { 'application/json': { schema: BatchResponse } } }, ...errors(MAX_EVENTS_BODY_BYTES, MAX_BATCH_EVENTS) },
});

export const crashesRoute = createRoute({
  method: 'post',
  path: '/v1/crashes',
  tags: ['ingest'],
  summary: 'Send a batch of crash reports',
  description: `1-${MAX_BATCH_CRASHES} crash reports, body at most ${MAX_CRASHES_BODY_BYTES} bytes after decompression. Each gets a fingerprint (crash type + normalized top frames) grouping one bug across devices.\n\n${REASONS_DOC}`,
  request: {
    body: { required: true, content: { 'application/json': { schema: z.object({ sent_at: z.string().optional(), crashes: z.array(CrashIn).min(1).max(MAX_BATCH_CRASHES) }).openapi({ example: CRASHES_EXAMPLE }) } } },
  },
  responses: { 202: { description: 'committed; per-item outcome', content: { 'application/json': { schema: BatchResponse } } }, ...errors(MAX_CRASHES_BODY_BYTES, MAX_BATCH_CRASHES) },
});
