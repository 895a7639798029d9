import { z } from '@hono/zod-openapi';
import { decodeSignature } from './auth/ed25519.js';

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

/** Fixed list of catalog categories. */
export const CATEGORIES = [
  'communication',
  'education',
  'entertainment',
  'finance',
  'games',
  'health',
  'lifestyle',
  'music',
  'news',
  'photography',
  'productivity',
  'social',
  'tools',
  'travel',
  'utilities',
  'other',
] as const;
export const CategorySchema = z.enum(CATEGORIES).openapi({ description: 'one of a fixed list' });

/** Longest package_id, and longest dot-separated segment of it. */
export const MAX_PACKAGE_ID_CHARS = 255;
const MAX_PACKAGE_SEGMENT_CHARS = 63;

/** A reverse-domain package name: at least two lower-case segments, each starting with a letter. */
export const PackageIdSchema = z
  .string()
  .max(MAX_PACKAGE_ID_CHARS)
  .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must be a reverse-domain name like com.example.app (lower case)')
  .refine((p) => p.split('.').every((s) => s.length <= MAX_PACKAGE_SEGMENT_CHARS), `each segment at most ${MAX_PACKAGE_SEGMENT_CHARS} characters`)
  .openapi({ example: 'com.example.camera' });

export const MAX_TAGS = 10;
export const MAX_TAG_CHARS = 32;
/** A tag: a short word or phrase, stored lower-cased. */
export const TagSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(MAX_TAG_CHARS)
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} _.+-]*$/u, 'letters, digits, spaces and _ . + - only, starting with a letter or digit');
/** Tags: a JSON array of short strings, duplicates dropped. */
export const TagsSchema = z
  .array(TagSchema)
  .max(MAX_TAGS)
  .transform((tags) => [...new Set(tags)])
  .openapi({ example: ['camera', 'photo'] });

export const MAX_DESCRIPTION_CHARS = 4000;
export const DescriptionSchema = z.string().max(MAX_DESCRIPTION_CHARS);

export const AppStatusSchema = z.enum(['draft', 'published', 'suspended']);
export const VersionStatusSchema = z.enum(['draft', 'review', 'approved', 'published', 'rejected']);

/** A version's uploaded package, once its signature verified. */
export const VersionPackageSchema = z
  .object({
    sha256: z.string().openapi({ description: 'hex SHA-256 of the package' }),
    size: z.number().int().openapi({ description: 'bytes' }),
    signing_key_id: z.string().nullable().openapi({ description: 'the signing key whose signature verified' }),
    uploaded_at: z.string().nullable(),
  })
  .openapi('VersionPackage');

/** An Ed25519 signature: 64 bytes in base64 or base64url, stored as standard base64 with padding. */
export const SignatureSchema = z
  .string()
  .max(128)
  .transform((text, ctx) => {
    const bytes = decodeSignature(text);
    if (bytes) return bytes.toString('base64');
    ctx.addIssue({ code: 'custom', message: 'must be a 64-byte Ed25519 signature in base64' });
    return z.NEVER;
  })
  .openapi({ type: 'string', description: 'Ed25519 signature (64 bytes, base64) of the package\'s 32-byte SHA-256 digest, by one of your active signing keys' });

export const VersionSchema = z
  .object({
    id: z.string(),
    app_id: z.string(),
    version_code: z.number().int(),
    version_name: z.string(),
    package_url: z.string(),
    package_size: z.number().int(),
    signature: z.string(),
    package: VersionPackageSchema.nullable().openapi({ description: 'null until a package with a verified signature is uploaded' }),
    permissions: z.array(z.string()),
    min_mosis_version: z.string().nullable(),
    release_notes: z.string().nullable(),
    status: VersionStatusSchema,
    review_notes: z.string().nullable(),
    published_at: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('Version');

export const AppSchema = z
  .object({
    id: z.string(),
    package_id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    category: z.string().nullable(),
    tags: z.array(z.string()),
    status: AppStatusSchema,
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('App');

/** One app with its latest version (highest version_code, any status), null before the first. */
export const AppDetailSchema = AppSchema.extend({ latest_version: VersionSchema.nullable() }).openapi('AppDetail');
