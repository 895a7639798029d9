import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { plainIssueMessage } from './zod-messages.js';

/** zod's own wording, which must never reach a user. */
const RAW_ZOD = /Too small|Too big|expected|Invalid input|Invalid option|Invalid string|Invalid (email|URL|UUID|ISO)|Unrecognized key/;

const message = (schema: z.ZodType, value: unknown) => {
  const result = schema.safeParse(value);
  expect(result.success).toBe(false);
  return result.error!.issues[0]!.message;
};

describe('plain validation messages', () => {
  it.each([
    ['a short string', z.string().min(8), 'abc', 'must be at least 8 characters'],
    ['an empty string', z.string().min(1), '', 'must not be empty'],
    ['a long string', z.string().max(3), 'abcd', 'must be at most 3 characters'],
    ['a string of the wrong length', z.string().length(3), 'ab', 'must be exactly 3 characters'],
    ['one character too long', z.string().max(1), 'ab', 'must be at most 1 character'],
    ['a missing field', z.object({ name: z.string() }), {}, 'is required'],
    ['a number for a string', z.string(), 5, 'must be a string'],
    ['an array for an object', z.object({}), [1], 'must be an object'],
    ['a fraction for an integer', z.number().int(), 1.5, 'must be an integer'],
    ['an unsafe integer', z.number().int(), 2 ** 60, 'must be at most 9007199254740991'],
    ['text for a coerced number', z.coerce.number(), 'abc', 'must be a number'],
    ['a small number', z.number().min(1), 0, 'must be at least 1'],
    ['a large number', z.number().max(10), 11, 'must be at most 10'],
    ['a number not above the bound', z.number().gt(5), 5, 'must be greater than 5'],
    ['a number not below the bound', z.number().lt(5), 5, 'must be less than 5'],
    ['an odd number', z.number().multipleOf(2), 3, 'must be a multiple of 2'],
    ['an empty array', z.array(z.string()).min(1), [], 'must not be empty'],
    ['a long array', z.array(z.string()).max(2), ['a', 'b', 'c'], 'must have at most 2 items'],
    ['a short array', z.array(z.string()).min(2), ['a'], 'must have at least 2 items'],
    ['a bad email', z.email(), 'x', 'must be an email address'],
    ['a bad URL', z.url(), 'nope', 'must be a URL'],
    ['a bad UUID', z.uuid(), 'x', 'must be a UUID'],
    ['a bad date-time', z.iso.datetime(), 'tomorrow', 'must be a date and time like 2026-11-28T10:00:00Z'],
    ['a bad date', z.iso.date(), '28.11.2026', 'must be a date like 2026-11-28'],
    ['a pattern without a message', z.string().regex(/^a$/), 'b', 'is not in the accepted format'],
    ['a wrong prefix', z.string().startsWith('mk_'), 'x', 'must start with "mk_"'],
    ['an unknown enum value', z.enum(['read', 'write']), 'root', 'must be one of: read, write'],
    ['a wrong literal', z.literal('ok'), 'no', 'must be "ok"'],
    ['true as text', z.boolean(), 'true', 'must be true or false'],
    ['an unknown field', z.object({ a: z.string() }).strict(), { a: 'x', b: 1 }, 'unknown field "b"'],
    ['unknown fields', z.object({}).strict(), { b: 1, c: 2 }, 'unknown fields "b", "c"'],
    ['no union member', z.union([z.string(), z.number()]), true, 'does not match any accepted form'],
    ['a failed refinement without a message', z.string().refine(() => false), 'x', 'is not valid'],
  ])('%s', (_name, schema, value, expected) => {
    const got = message(schema, value);
    expect(got).toBe(expected);
    expect(got).not.toMatch(RAW_ZOD);
  });

  it('never repeats more than a bounded piece of an unknown key', () => {
    const keys = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`${'k'.repeat(500)}${i}`, 1]));
    const got = message(z.object({}).strict(), keys);
    expect(got.length).toBeLessThan(500);
    expect(got).toMatch(/ and 3 more$/);
  });

  it('leaves a message written in the schema alone', () => {
    expect(message(z.string().min(8, 'too short for a password'), 'abc')).toBe('too short for a password');
    expect(message(z.string({ error: 'give a name' }), undefined)).toBe('give a name');
    expect(message(z.string().regex(/^a$/, { error: 'only the letter a' }), 'b')).toBe('only the letter a');
    expect(message(z.number().int().min(1).max(5, { error: (i) => `at most ${i.maximum}, please` }), 9)).toBe('at most 5, please');
  });

  it('is what plainIssueMessage gives for the issue', () => {
    expect(plainIssueMessage({ code: 'too_small', origin: 'string', minimum: 8, inclusive: true, input: 'abc', path: [] })).toBe('must be at least 8 characters');
  });
});
