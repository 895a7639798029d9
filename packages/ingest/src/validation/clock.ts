import { MAX_FUTURE_MS } from '../limits.js';
import type { Rejection } from './rejection.js';

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

/**
 * The rejection of a timestamp outside the window, saying what the window is (server clock) and where the
 * corrected timestamp fell, so a device with a wrong clock or stale events can tell which.
 */
export function outOfWindow(index: number, timestampMs: number, nowMs: number, retentionMs: number): Rejection {
  const earliest = iso(nowMs - retentionMs);
  const latest = iso(nowMs + MAX_FUTURE_MS);
  const corrected = iso(timestampMs);
  return {
    index,
    reason: 'timestamp_out_of_window',
    field: 'timestamp',
    message: `timestamp after clock correction (${corrected ?? 'unrepresentable'}) is outside the accepted window ${earliest} to ${latest} (server time)`,
    details: { corrected_timestamp: corrected, earliest, latest },
  };
}

function iso(ms: number): string | null {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : null;
}
