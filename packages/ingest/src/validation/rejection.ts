import type { z } from 'zod';

/**
 * Why one item of a batch was not stored; the rest of the batch is. Reason codes (documented in the
 * OpenAPI document):
 * - `invalid_event` / `invalid_crash`: a field is missing or malformed (`field` names it)
 * - `unknown_app`: no app with this package_id
 * - `app_suspended`: the app is suspended
 * - `timestamp_out_of_window`: after clock correction, more than 24 h ahead or older than the raw retention
 *   (`details` has the corrected timestamp and the window)
 * - `data_too_large` (event `data`), `context_too_large` (crash `context`), `stack_trace_too_large`
 * - `event_type_limit`: the app already has MAX_EVENT_TYPES_PER_APP event types and this one is new
 */
export type RejectReason =
  | 'invalid_event'
  | 'invalid_crash'
  | 'unknown_app'
  | 'app_suspended'
  | 'timestamp_out_of_window'
  | 'data_too_large'
  | 'context_too_large'
  | 'stack_trace_too_large'
  | 'event_type_limit';

export const REJECT_REASONS: readonly RejectReason[] = [
  'invalid_event',
  'invalid_crash',
  'unknown_app',
  'app_suspended',
  'timestamp_out_of_window',
  'data_too_large',
  'context_too_large',
  'stack_trace_too_large',
  'event_type_limit',
];

/** One rejected item in the 202 body: `{index, reason, field?, message?, details?}`. */
export interface Rejection {
  index: number;
  reason: RejectReason;
  field?: string;
  message?: string;
  details?: Record<string, unknown>;
}

/** The first zod issue of an item as a rejection (never echoing the sent value: it may be a raw device id). */
export function fromZodIssues(index: number, reason: RejectReason, issues: readonly z.core.$ZodIssue[]): Rejection {
  const issue = issues[0];
  const field = issue && issue.path.length ? String(issue.path[0]) : undefined;
  return field
    ? { index, reason, field, message: issue!.message }
    : { index, reason, message: issue?.message ?? 'invalid item' };
}
