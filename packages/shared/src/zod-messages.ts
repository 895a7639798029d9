import { z } from 'zod';

/**
 * Validation messages in plain words that name the limit ("must be at least 8 characters"), for every zod
 * schema of both services: installed once, process-wide, as zod's global error map when this module loads
 * (http.ts and config.ts import it). zod asks it only for issues without a message of their own, so a
 * message written in a schema still wins. The field name is not part of it: http.ts puts the path in front
 * ("password: must be at least 8 characters").
 */

/** Longest piece of client text (an unknown key) repeated in a message, and how many such keys at most. */
const MAX_ECHO_CHARS = 64;
const MAX_ECHO_KEYS = 5;

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  bigint: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  date: 'a date',
  null: 'null',
  undefined: 'absent',
  literal: 'a fixed value',
  tuple: 'an array',
  record: 'an object',
  map: 'a map',
  set: 'a set',
  file: 'a file',
};

const FORMATS: Record<string, string> = {
  email: 'an email address',
  url: 'a URL',
  uuid: 'a UUID',
  guid: 'a UUID',
  datetime: 'a date and time like 2026-11-28T10:00:00Z',
  date: 'a date like 2026-11-28',
  time: 'a time like 10:00:00',
  duration: 'an ISO 8601 duration like P1D',
  ipv4: 'an IPv4 address',
  ipv6: 'an IPv6 address',
  cidrv4: 'an IPv4 range like 10.0.0.0/8',
  cidrv6: 'an IPv6 range',
  base64: 'base64 text',
  base64url: 'base64url text',
  jwt: 'a JSON web token',
  emoji: 'an emoji',
  e164: 'a phone number like +14155552671',
  lowercase: 'lower case',
  uppercase: 'upper case',
};

const plural = (n: number | bigint, one: string, many: string) => `${n} ${Number(n) === 1 ? one : many}`;

/** Size words by what was measured: characters of a string, items of an array, a number's value. */
function bound(issue: { origin?: string; inclusive?: boolean; exact?: boolean }, n: number | bigint, side: 'min' | 'max'): string {
  const origin = issue.origin ?? 'number';
  if (origin === 'string') {
    if (issue.exact) return `must be exactly ${plural(n, 'character', 'characters')}`;
    if (side === 'min' && Number(n) === 1 && issue.inclusive !== false) return 'must not be empty';
    return `must be ${side === 'min' ? 'at least' : 'at most'} ${plural(n, 'character', 'characters')}`;
  }
  if (origin === 'array' || origin === 'set') {
    if (issue.exact) return `must have exactly ${plural(n, 'item', 'items')}`;
    if (side === 'min' && Number(n) === 1) return 'must not be empty';
    return `must have ${side === 'min' ? 'at least' : 'at most'} ${plural(n, 'item', 'items')}`;
  }
  if (origin === 'file') return `must be ${side === 'min' ? 'at least' : 'at most'} ${plural(n, 'byte', 'bytes')}`;
  if (origin === 'date') return `must be ${side === 'min' ? 'on or after' : 'on or before'} ${new Date(Number(n)).toISOString()}`;
  if (issue.exact) return `must be exactly ${n}`;
  if (issue.inclusive === false) return `must be ${side === 'min' ? 'greater' : 'less'} than ${n}`;
  return `must be ${side === 'min' ? 'at least' : 'at most'} ${n}`;
}

/** The plain message of one zod issue (without its path). */
export function plainIssueMessage(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return bound(issue, issue.minimum, 'min');
    case 'too_big':
      return bound(issue, issue.maximum, 'max');
    case 'invalid_format': {
      const f = issue as z.core.$ZodRawIssue<z.core.$ZodIssueInvalidStringFormat> & { prefix?: string; suffix?: string; includes?: string };
      if (f.format === 'starts_with') return `must start with "${f.prefix}"`;
      if (f.format === 'ends_with') return `must end with "${f.suffix}"`;
      if (f.format === 'includes') return `must contain "${f.includes}"`;
      if (f.format === 'regex') return 'is not in the accepted format';
      return `must be ${FORMATS[f.format] ?? `a valid ${f.format}`}`;
    }
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys': {
      const keys = issue.keys.slice(0, MAX_ECHO_KEYS).map((k) => JSON.stringify(k.slice(0, MAX_ECHO_CHARS)));
      const more = issue.keys.length > MAX_ECHO_KEYS ? ` and ${issue.keys.length - MAX_ECHO_KEYS} more` : '';
      return `${issue.keys.length === 1 ? 'unknown field' : 'unknown fields'} ${keys.join(', ')}${more}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of: ${issue.values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}`;
    case 'invalid_union':
      return 'does not match any accepted form';
    case 'invalid_key':
      return 'has an invalid key';
    case 'invalid_element':
      return 'has an invalid item';
    default:
      return 'is not valid';
  }
}

z.config({ customError: plainIssueMessage });
