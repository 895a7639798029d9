// The pg bench's group commits: 20 requests (devices) x 100 events, 20 apps, 5,000 devices, 8 types,
// timestamps in the last minute, every event with an id (the idempotency path is the one measured).
import { randomBytes } from 'node:crypto';
import { APPS, appPackage, DEVICES } from './events.mjs';

const TYPES = ['app_open', 'app_close', 'screen_view', 'button_tap', 'purchase', 'level_up', 'session_start', 'error'];
export const REQUESTS_PER_COMMIT = 20;
export const EVENTS_PER_REQUEST = 100;

/** Commit `i` of writer `seed` (distinct devices per writer and commit, as concurrent devices are). */
export function commitBatch(seed, i) {
  const now = Date.now();
  return Array.from({ length: REQUESTS_PER_COMMIT }, (_, r) => {
    const device = (seed * 7919 + (i + 1) * REQUESTS_PER_COMMIT + r) % DEVICES;
    const app = device % APPS;
    return {
      kind: 'events',
      rows: Array.from({ length: EVENTS_PER_REQUEST }, (_, k) => ({
        appId: `bench-app-${app}`,
        packageId: appPackage(app),
        deviceHash: BigInt(device) * 0x9e3779b97f4a7c15n & 0x7fffffffffffffffn,
        eventType: TYPES[(device + k) % TYPES.length],
        timestamp: now - Math.floor(Math.random() * 60_000),
        eventId: randomBytes(16),
        mosisVersion: '1.4.2',
        appVersion: '2.0.0',
        data: '{"screen":"home"}',
      })),
    };
  });
}
