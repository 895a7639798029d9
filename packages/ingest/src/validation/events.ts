import { z } from 'zod';
import type { AppLookup } from '../apps/app-cache.js';
import { MAX_EVENT_DATA_BYTES } from '../limits.js';
import type { DeviceHasher } from '../privacy/device-hash.js';
import type { EventRecord } from '../store/types.js';
import { inWindow, outOfWindow } from './clock.js';
import { appVersion, deviceId, isoTimestamp, jsonObject, objectText, packageId, typeName, uuid, uuidBytes, version } from './fields.js';
import { plainEvent } from './plain-event.js';
import { fromZodIssues, type Rejection } from './rejection.js';

/** One event as devices send it (contract). Unknown fields are ignored, so newer devices keep working. */
export const eventSchema = z.object({
  event_id: uuid.nullish(),
  app: packageId,
  device_id: deviceId,
  event_type: typeName,
  timestamp: isoTimestamp,
  mosis_version: version.nullish(),
  app_version: appVersion.nullish(),
  data: jsonObject.nullish(),
});

/** What validating an item needs besides the item. */
export interface ItemContext {
  apps: AppLookup;
  hasher: DeviceHasher;
  /** Server clock, Unix ms. */
  now: number;
  /** Added to each item's timestamp (see clockOffset). */
  offset: number;
  /** Raw retention (RETENTION_DAYS) in ms: older timestamps are out of the window. */
  retentionMs: number;
}

/** Validates one event and resolves its app; returns the row to store or why it is rejected. */
export function toEventRecord(item: unknown, index: number, ctx: ItemContext): EventRecord | Rejection {
  let e = plainEvent(item);
  if (!e) {
    const parsed = eventSchema.safeParse(item);
    if (!parsed.success) return fromZodIssues(index, 'invalid_event', parsed.error.issues);
    e = parsed.data;
  }
  const app = ctx.apps.get(e.app);
  if (!app) return { index, reason: 'unknown_app' };
  if (app.suspended) return { index, reason: 'app_suspended' };
  const timestamp = Date.parse(e.timestamp) + ctx.offset;
  if (!inWindow(timestamp, ctx.now, ctx.retentionMs)) return outOfWindow(index, timestamp, ctx.now, ctx.retentionMs);
  const data = objectText(e.data);
  if (data !== null && Buffer.byteLength(data) > MAX_EVENT_DATA_BYTES) {
    return { index, reason: 'data_too_large', field: 'data', message: `data is over ${MAX_EVENT_DATA_BYTES} bytes` };
  }
  return {
    appId: app.id,
    packageId: app.packageId,
    deviceHash: ctx.hasher.hash(e.device_id),
    eventType: e.event_type,
    timestamp,
    eventId: e.event_id ? uuidBytes(e.event_id) : null,
    mosisVersion: e.mosis_version ?? null,
    appVersion: e.app_version ?? null,
    data,
  };
}
