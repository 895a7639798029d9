// Synthetic device traffic for the ingest benchmark: 5,000 devices across 20 apps, event ids as UUIDv7
// (what devices generate), timestamps spread over the last minute, sent_at = now.

export const DEVICES = 5_000;
export const APPS = 20;
export const SPREAD_MS = 60_000;
const EVENT_TYPES = ['app_open', 'app_close', 'screen_view', 'button_tap', 'purchase', 'level_up', 'session_start', 'error'];
const SCREENS = ['home', 'settings', 'store', 'game', 'profile'];

export const appPackage = (i) => `com.bench.app${i}`;

let counter = Math.floor(Math.random() * 2 ** 30);
const rand = new Uint32Array(1);

/** A UUIDv7 for `ms`: 48-bit time, then counter and random bits (unique within a process). */
export function uuidv7(ms) {
  counter = (counter + 1) >>> 0;
  const t = ms.toString(16).padStart(12, '0');
  const c = counter.toString(16).padStart(8, '0');
  rand[0] = (Math.random() * 2 ** 32) >>> 0;
  const r = rand[0].toString(16).padStart(8, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${c.slice(0, 3)}-${(8 + (counter & 3)).toString(16)}${c.slice(3, 6)}-${c.slice(6, 8)}${r}${process.pid.toString(16).padStart(2, '0').slice(-2)}`;
}

/** One event as JSON text. */
export function eventJson(device, now) {
  const ts = now - Math.floor(Math.random() * SPREAD_MS);
  const type = EVENT_TYPES[(device + counter) % EVENT_TYPES.length];
  const screen = SCREENS[counter % SCREENS.length];
  return `{"event_id":"${uuidv7(ts)}","app":"${appPackage(device % APPS)}","device_id":"bench-device-${device}","event_type":"${type}","timestamp":"${new Date(ts).toISOString()}","mosis_version":"1.4.2","data":{"screen":"${screen}"}}`;
}

/** A request body of `size` events from one random device. */
export function batchBody(size) {
  const now = Date.now();
  const device = Math.floor(Math.random() * DEVICES);
  const parts = new Array(size);
  for (let i = 0; i < size; i++) parts[i] = eventJson(device, now);
  return `{"sent_at":"${new Date(now).toISOString()}","events":[${parts.join(',')}]}`;
}
