import { ApiError } from '@mosis/shared';
import { ISO_TIMESTAMP_PATTERN } from './fields.js';

/** The batch around the items: `{sent_at?, <key>: [...]}`. */
export interface Envelope {
  /** Device clock when sent, Unix ms. */
  sentAt: number | undefined;
  items: unknown[];
}

/**
 * Checks the parts of a body that make the whole batch unusable (400 `invalid_body`): not an object, no
 * `<key>` array, an empty or too long array, an unreadable `sent_at` (no event could be clock-corrected).
 * Items are checked one by one later, so a bad item rejects only itself.
 */
export function parseEnvelope(body: unknown, key: 'events' | 'crashes', maxItems: number): Envelope {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw ApiError.badRequest('body must be a JSON object', [{ path: '', message: 'expected an object' }]);
  }
  const items = (body as Record<string, unknown>)[key];
  if (!Array.isArray(items)) {
    throw ApiError.badRequest(`${key}: must be an array`, [{ path: key, message: 'expected an array' }]);
  }
  if (items.length < 1 || items.length > maxItems) {
    throw ApiError.badRequest(`${key}: must hold 1 to ${maxItems} items (got ${items.length})`, [
      { path: key, message: `expected 1 to ${maxItems} items` },
    ]);
  }
  const rawSentAt = (body as Record<string, unknown>).sent_at;
  let sentAt: number | undefined;
  if (rawSentAt !== undefined && rawSentAt !== null) {
    // The pattern `isoTimestamp` tests, without a zod parse per request.
    sentAt = typeof rawSentAt === 'string' && ISO_TIMESTAMP_PATTERN.test(rawSentAt) ? Date.parse(rawSentAt) : NaN;
    if (!Number.isFinite(sentAt)) {
      throw ApiError.badRequest('sent_at: must be an ISO-8601 date-time with a time zone', [
        { path: 'sent_at', message: 'expected an ISO-8601 date-time' },
      ]);
    }
  }
  return { sentAt, items };
}
