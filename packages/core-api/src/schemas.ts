import { z } from '@hono/zod-openapi';

/** Response and shared request schemas of the core API, named components in /openapi.json. */

export const DeveloperSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    verified: z.boolean(),
    created_at: z.string(),
  })
  .openapi('Developer');

/** A developer and a new session token (register, login). */
export const SessionSchema = z
  .object({
    developer: DeveloperSchema,
    token: z.string().openapi({ description: 'session token: send as `Authorization: Bearer <token>`' }),
    expires_at: z.string(),
  })
  .openapi('Session');

/** An email address, compared and stored lower-cased. */
export const EmailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email())
  .transform((e) => e.toLowerCase())
  .openapi({ example: 'ada@example.com' });

/** Shortest and longest password accepted (long enough to resist guessing; bounded so hashing is too). */
export const MIN_PASSWORD_CHARS = 8;
export const MAX_PASSWORD_CHARS = 256;

/** A name shown to people: trimmed, 1 to 100 characters, no control characters. */
export const DisplayNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

/** An ISO-8601 timestamp. */
export const TimestampSchema = z.iso.datetime({ offset: true });
