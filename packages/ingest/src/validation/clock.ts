import { MAX_FUTURE_MS } from '../limits.js';

/**
 * How far the device clock is behind the server's (ms), from the batch's `sent_at`: added to each event's
 * timestamp. 0 without `sent_at`.
 */
export function clockOffset(sentAtMs: number | undefined, nowMs: number): number {
  return sentAtMs === undefined ? 0 : nowMs - sentAtMs;
}

/** True when a corrected timestamp is inside the accepted window: at most 24 h ahead, within retention. */
export function inWindow(timestampMs: number, nowMs: number, retentionMs: number): boolean {
  return timestampMs <= nowMs + MAX_FUTURE_MS && timestampMs >= nowMs - retentionMs;
}
