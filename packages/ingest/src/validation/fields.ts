import { z } from 'zod';
import { MAX_JSON_DEPTH } from '../limits.js';

/** Field schemas both item kinds share. */

/** Pattern of `typeName` (exported for plain-event.ts, which must accept exactly what zod does). */
export const TYPE_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Pattern of `uuid`. */
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Longest `app` (package_id), in UTF-16 code units as zod counts them. */
export const MAX_PACKAGE_ID_CHARS = 255;
/** Longest raw `device_id`. */
export const MAX_DEVICE_ID_CHARS = 256;
/** Longest `app_version` / `mosis_version`. */
export const MAX_VERSION_CHARS = 64;
/**
 * An event's `app_version`: 1-64 characters of `A-Z a-z 0-9 . _ + -`, which covers semantic versions with
 * pre-release and build parts (`2.0.0-rc.1+45`) and keeps breakdown values safe to show, filter and export.
 */
export const APP_VERSION_PATTERN = /^[A-Za-z0-9._+-]{1,64}$/;

/** `event_type` and `crash_type`: 1-64 chars of `[A-Za-z0-9_.:-]` (contract). */
export const typeName = z.string().regex(TYPE_NAME_PATTERN, 'must be 1-64 characters of A-Z a-z 0-9 _ . : -');

/** A UUID in its text form, any version (devices generate them; v7 keeps inserts in time order). */
export const uuid = z.string().regex(UUID_PATTERN, 'must be a UUID');

/** An ISO-8601 date-time with a zone (Z or an offset). */
export const isoTimestamp = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time with a time zone' });
/** The very pattern zod tests `isoTimestamp` with. */
export const ISO_TIMESTAMP_PATTERN: RegExp = isoTimestamp._zod.def.pattern!;

/** `app`: a package_id, e.g. com.dev.app. */
export const packageId = z.string().min(1).max(MAX_PACKAGE_ID_CHARS);

/** A raw device id: hashed before it goes anywhere. */
export const deviceId = z.string().min(1).max(MAX_DEVICE_ID_CHARS);

export const version = z.string().min(1).max(MAX_VERSION_CHARS);

/** `app_version` of an event (see APP_VERSION_PATTERN). */
export const appVersion = z.string().regex(APP_VERSION_PATTERN, 'must be 1-64 characters of A-Z a-z 0-9 . _ + -');

/**
 * True when `value` nests at most `maxDepth` levels of objects and arrays (`{}` is one level, a scalar none).
 * It stops at the first branch past the limit, so its own recursion is bounded too.
 */
export function withinDepth(value: unknown, maxDepth: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (maxDepth === 0) return false;
  // Scalars are checked inline: most values are, and a call each would cost the hot path.
  if (Array.isArray(value)) {
    for (const v of value) if (typeof v === 'object' && v !== null && !withinDepth(v, maxDepth - 1)) return false;
    return true;
  }
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k];
    if (typeof v === 'object' && v !== null && !withinDepth(v, maxDepth - 1)) return false;
  }
  return true;
}

/**
 * A JSON object (not an array, not null) nesting at most MAX_JSON_DEPTH levels: deeper would overflow the
 * stack of JSON.stringify when the row is built.
 */
export const jsonObject = z
  .record(z.string(), z.unknown())
  .refine((v) => withinDepth(v, MAX_JSON_DEPTH), { message: `must nest at most ${MAX_JSON_DEPTH} levels deep` });

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** 16 bytes of a UUID text (already checked by `uuid`). Hand-rolled: 5x cheaper than replaceAll + hex decode. */
export function uuidBytes(text: string): Buffer {
  const out = Buffer.allocUnsafe(16);
  let j = 0;
  for (let i = 0; i < text.length && j < 16; i++) {
    const hi = text.charCodeAt(i);
    if (hi === 45) continue; // '-'
    out[j++] = (HEX[hi]! << 4) | HEX[text.charCodeAt(++i)]!;
  }
  return out;
}

/** Serialized object, or null when it is missing or empty (stored as NULL to save bytes). */
export function objectText(value: Record<string, unknown> | null | undefined): string | null {
  if (!value) return null;
  const text = JSON.stringify(value);
  return text === '{}' ? null : text;
}
