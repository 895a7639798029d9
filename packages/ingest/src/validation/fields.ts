import { z } from 'zod';

/** Field schemas both item kinds share. */

/** `event_type` and `crash_type`: 1-64 chars of `[A-Za-z0-9_.:-]` (contract). */
export const typeName = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . : -');

/** A UUID in its text form, any version (devices generate them; v7 keeps inserts in time order). */
export const uuid = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID');

/** An ISO-8601 date-time with a zone (Z or an offset). */
export const isoTimestamp = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time with a time zone' });

/** `app`: a package_id, e.g. com.dev.app. */
export const packageId = z.string().min(1).max(255);

/** A raw device id: hashed before it goes anywhere. */
export const deviceId = z.string().min(1).max(256);

export const version = z.string().min(1).max(64);

/** A JSON object (not an array, not null). */
export const jsonObject = z.record(z.string(), z.unknown());

/** 16 bytes of a UUID text. */
export function uuidBytes(text: string): Buffer {
  return Buffer.from(text.replaceAll('-', ''), 'hex');
}

/** Serialized object, or null when it is missing or empty (stored as NULL to save bytes). */
export function objectText(value: Record<string, unknown> | null | undefined): string | null {
  if (!value) return null;
  const text = JSON.stringify(value);
  return text === '{}' ? null : text;
}
