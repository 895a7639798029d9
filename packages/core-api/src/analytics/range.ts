import { z } from '@hono/zod-openapi';
import { addDays, dayStartMs, isDay } from '@mosis/ingest';
import { ApiError } from '@mosis/shared';
import { DEFAULT_RANGE_DAYS, MAX_RANGE_DAYS } from '../limits.js';

/** The query parameters of analytics ranges and how they are resolved to days (UTC). */

const DAY_MS = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export const DayParam = z.string().max(10).openapi({ description: 'UTC day, YYYY-MM-DD', example: '2026-11-01' });

/** `?from=&to=` of the aggregate endpoints. */
export const RangeQuery = z.object({
  from: DayParam.optional().openapi({ description: `first day (included); default: ${DEFAULT_RANGE_DAYS} days before \`to\`` }),
  to: DayParam.optional().openapi({ description: 'last day (included); default: today (UTC)' }),
});

/** An event type in a query: the contract's pattern of event_type. */
export const EventTypeParam = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . : -')
  .openapi({ example: 'app_open' });

export interface DayRange {
  from: string;
  to: string;
  /** Days from..to, both included. */
  days: number;
}

/**
 * The days `from`..`to` of a query: both real days, from <= to, at most MAX_RANGE_DAYS. Anything else is
 * a 400 `invalid_query` naming the problem.
 */
export function resolveRange(q: { from?: string; to?: string }, now = Date.now()): DayRange {
  for (const key of ['from', 'to'] as const) {
    const v = q[key];
    if (v !== undefined && !isDay(v)) throw ApiError.badRequest(`${key}: must be a date YYYY-MM-DD`, { [key]: v }, 'invalid_query');
  }
  const to = q.to ?? dayOf(now);
  const from = q.from ?? addDays(to, -(DEFAULT_RANGE_DAYS - 1));
  if (from > to) throw ApiError.badRequest('from: must not be after to', { from, to }, 'invalid_query');
  const days = (dayStartMs(to) - dayStartMs(from)) / DAY_MS + 1;
  if (days > MAX_RANGE_DAYS) throw ApiError.badRequest(`from: the range from..to spans ${days} days; at most ${MAX_RANGE_DAYS}`, { from, to, days, max_days: MAX_RANGE_DAYS }, 'invalid_query');
  return { from, to, days };
}

/** Every day of a range, oldest first. */
export function daysOf(range: DayRange): string[] {
  return Array.from({ length: range.days }, (_, i) => addDays(range.from, i));
}

/** The first day of the raw retention: raw events and crashes are kept from this UTC day on. */
export function rawRetentionStart(retentionDays: number, now = Date.now()): string {
  return addDays(dayOf(now), -retentionDays);
}
