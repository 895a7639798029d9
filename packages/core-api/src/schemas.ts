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
    device_token: z.string().openapi({
      description:
        'this client\'s device token: send it as `device_token` with later logins from this client. Such logins are ' +
        'limited per device, so failed guesses by others never lock this client out. Keep it like a password.',
    }),
  })
  .openapi('Session', {
    example: {
      developer: { id: 'acef7802-422e-4c65-8f7a-6d8f29cca84d', email: 'ada@example.com', name: 'Ada Lovelace', verified: false, created_at: '2026-11-28T10:00:00.000Z' },
      token: 'ms_TRgncwC-qnzWDcrmj51MEpc6kbq8i5I2Ihz6eTMNJFs',
      expires_at: '2026-12-28T10:00:00.000Z',
      device_token: 'md_Qm9vdHN0cmFwcGluZyBhIGRldmljZSB0b2tlbiBoZXJl',
    },
  });

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

/**
 * Emoji that draw as one picture although they hold format characters: U+200D ZERO WIDTH JOINER between two
 * emoji (👩‍💻, 🏳️‍🌈, 👨‍👩‍👧), optionally after a skin tone or VS16, and the tag characters of a
 * subdivision flag (🏴 + tags + CANCEL TAG). These are the only format characters a display string may hold.
 */
const EMOJI_ZWJ = /(?<=\p{Extended_Pictographic}[\u{FE0F}\u{1F3FB}-\u{1F3FF}]{0,2})\u200D(?=\p{Extended_Pictographic})/gu;
const EMOJI_TAG_SEQUENCE = /(?<=\u{1F3F4})[\u{E0020}-\u{E007E}]+\u{E007F}/gu;
const FORMAT_CHARACTER = /\p{Cf}/u;

/**
 * The first invisible or direction-changing character of `text` (Unicode category Cf: U+200B zero width space,
 * U+202E right-to-left override, U+2066..2069 isolates, U+FEFF, U+00AD soft hyphen, ...) as `U+XXXX`, or
 * undefined when there is none. Such characters make a name look other than it is (a reversed package
 * name, hidden words), so every display string refuses them. Emoji sequences (EMOJI_ZWJ above) pass; the
 * joiners that Persian and Indic text use (U+200C, U+200D between letters) are refused too: one consistent
 * rule, and such text stays readable without them.
 */
export function invisibleCharacter(text: string): string | undefined {
  const found = FORMAT_CHARACTER.exec(text.replace(EMOJI_ZWJ, '').replace(EMOJI_TAG_SEQUENCE, ''));
  return found ? `U+${found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` : undefined;
}

/** Message of a display string that holds an invisible character. */
export function invisibleMessage(text: string): string {
  return `must not contain invisible or direction-changing characters (found ${invisibleCharacter(text)})`;
}

/** A string that refuses invisible characters (checked before any trimming, so a leading U+FEFF counts too). */
const visibleString = () =>
  z.string().refine((t) => invisibleCharacter(t) === undefined, { error: (iss) => invisibleMessage(String(iss.input)) });

/** A one-line name shown to people: trimmed, 1 to `max` characters, no control or invisible characters. */
export function displayName(max: number) {
  return visibleString().trim().min(1).max(max).regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');
}

/** Longer text shown to people (descriptions, notes): line breaks and tabs allowed, other control and invisible characters not. */
export function displayText(max: number) {
  return visibleString().max(max).regex(/^(?:[\t\n\r]|\P{Cc})*$/u, 'must not contain control characters other than tab and line breaks');
}

/** A name shown to people (developer, app, API key, signing key): 1 to 100 characters. */
export const DisplayNameSchema = displayName(100);

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
  .refine((p) => p.split('.').every((s) => s.length <= MAX_PACKAGE_SEGMENT_CHARS), `each segment must be at most ${MAX_PACKAGE_SEGMENT_CHARS} characters`)
  .openapi({ example: 'com.example.camera' });

export const MAX_TAGS = 10;
export const MAX_TAG_CHARS = 32;
/** A tag: a short word or phrase, stored lower-cased. */
export const TagSchema = visibleString()
  .trim()
  .toLowerCase()
  .min(1)
  .max(MAX_TAG_CHARS)
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} _.+-]*$/u, 'must be letters, digits, spaces and _ . + - only, starting with a letter or digit');
/** Tags: a JSON array of short strings, duplicates dropped. */
export const TagsSchema = z
  .array(TagSchema)
  .max(MAX_TAGS)
  .transform((tags) => [...new Set(tags)])
  .openapi({ example: ['camera', 'photo'] });

export const MAX_DESCRIPTION_CHARS = 4000;
export const DescriptionSchema = displayText(MAX_DESCRIPTION_CHARS);

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
  .openapi('Version', {
    example: {
      id: '43857004-5360-4de4-9dcf-a19dc591d83f',
      app_id: '913314b4-b107-470c-90a2-9114ba88b4d0',
      version_code: 3,
      version_name: '1.2.0',
      package_url: 'https://cdn.example.com/camera-1.2.0.mpk',
      package_size: 1_234_567,
      signature: 'BlnjMFSPhqgsvVbPH4MTIg72UxCFRKzR5LVsF5xY0VX6QF33traMn3lRf6NgXqcmw2dcrHVa1OK0WT2vekib5w==',
      permissions: ['camera', 'net.http'],
      min_mosis_version: '1.4',
      release_notes: 'Starts twice as fast.',
      status: 'draft',
      review_notes: null,
      published_at: null,
      created_at: '2026-11-28T10:05:00.000Z',
    },
  });

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
export const AppDetailSchema = AppSchema.extend({ latest_version: VersionSchema.nullable() }).openapi('AppDetail', {
  example: {
    id: '913314b4-b107-470c-90a2-9114ba88b4d0',
    package_id: 'com.example.camera',
    name: 'Camera',
    description: 'Photos and short videos with one tap.',
    category: 'photography',
    tags: ['camera', 'photo'],
    status: 'draft',
    created_at: '2026-11-28T10:00:00.000Z',
    updated_at: '2026-11-28T10:00:00.000Z',
    latest_version: null,
  },
});
