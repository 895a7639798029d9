import { z } from 'zod';
import { crashFingerprint } from '../crash/fingerprint.js';
import { MAX_CRASH_CONTEXT_BYTES, MAX_CRASH_MESSAGE_CHARS, MAX_STACK_TRACE_BYTES } from '../limits.js';
import type { CrashRecord } from '../store/types.js';
import { inWindow, outOfWindow } from './clock.js';
import type { ItemContext } from './events.js';
import { deviceId, isoTimestamp, jsonObject, objectText, packageId, typeName, uuid, uuidBytes, version } from './fields.js';
import { fromZodIssues, type Rejection } from './rejection.js';

/** One crash report as devices send it (contract). */
export const crashSchema = z.object({
  crash_id: uuid.nullish(),
  app: packageId,
  app_version: version,
  device_id: deviceId,
  crash_type: typeName,
  message: z.string().max(MAX_CRASH_MESSAGE_CHARS).nullish(),
  // Its byte limit has its own reason code (below); this only bounds the work of counting.
  stack_trace: z.string().nullish(),
  context: jsonObject.nullish(),
  mosis_version: version.nullish(),
  timestamp: isoTimestamp,
});

/** Validates one crash report, resolves its app and fingerprints it. */
export function toCrashRecord(item: unknown, index: number, ctx: ItemContext): CrashRecord | Rejection {
  const parsed = crashSchema.safeParse(item);
  if (!parsed.success) return fromZodIssues(index, 'invalid_crash', parsed.error.issues);
  const c = parsed.data;
  const app = ctx.apps.get(c.app);
  if (!app) return { index, reason: 'unknown_app' };
  if (app.suspended) return { index, reason: 'app_suspended' };
  const timestamp = Date.parse(c.timestamp) + ctx.offset;
  if (!inWindow(timestamp, ctx.now, ctx.retentionMs)) return outOfWindow(index, timestamp, ctx.now, ctx.retentionMs);
  const stackTrace = c.stack_trace || null;
  if (stackTrace !== null && Buffer.byteLength(stackTrace) > MAX_STACK_TRACE_BYTES) {
    return { index, reason: 'stack_trace_too_large', field: 'stack_trace', message: `stack_trace is over ${MAX_STACK_TRACE_BYTES} bytes` };
  }
  const context = objectText(c.context);
  if (context !== null && Buffer.byteLength(context) > MAX_CRASH_CONTEXT_BYTES) {
    return { index, reason: 'context_too_large', field: 'context', message: `context is over ${MAX_CRASH_CONTEXT_BYTES} bytes` };
  }
  const message = c.message ?? null;
  return {
    appId: app.id,
    packageId: app.packageId,
    deviceHash: ctx.hasher.hash(c.device_id),
    timestamp,
    crashId: c.crash_id ? uuidBytes(c.crash_id) : null,
    fingerprint: crashFingerprint(c.crash_type, stackTrace, message),
    crashType: c.crash_type,
    appVersion: c.app_version,
    message,
    stackTrace,
    context,
    mosisVersion: c.mosis_version ?? null,
  };
}
