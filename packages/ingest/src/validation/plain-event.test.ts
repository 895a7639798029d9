import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../limits.js';
import { event } from '../testing.js';
import { eventSchema } from './events.js';
import { objectText } from './fields.js';
import { plainEvent, type EventFields } from './plain-event.js';

const FIELDS = ['event_id', 'app', 'device_id', 'event_type', 'timestamp', 'mosis_version', 'app_version', 'data'] as const;

/** What the store is given from the fields: `data` as its text, absent and null alike. */
function row(e: EventFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) out[f] = f === 'data' ? objectText(e.data) : (e[f] ?? null);
  return out;
}

/** An item as JSON.parse gives it (own `__proto__` keys included). */
const parsed = (item: unknown) => JSON.parse(JSON.stringify(item)) as unknown;

/** An object nesting exactly `depth` levels (objects and arrays mixed along one branch, scalars beside it). */
const nested = (depth: number, arrays: boolean[]): Record<string, unknown> => {
  let v: unknown = 'leaf';
  for (let d = 1; d < depth; d++) v = arrays[d % arrays.length] ? [1, v] : { s: 'x', v };
  return { v };
};
/** Objects around the depth limit (32): both sides must judge them alike. */
const deepValue = fc.tuple(fc.integer({ min: MAX_JSON_DEPTH - 2, max: MAX_JSON_DEPTH + 2 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 4 })).map(([d, a]) => nested(d, a));

const fieldValue = fc.oneof(
  deepValue,
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ maxLength: 300 }),
  fc.uuid(),
  fc.constantFrom('', 'a'.repeat(64), 'a'.repeat(65), 'a'.repeat(255), 'a'.repeat(256), 'a'.repeat(257), 'app.open:1-x_y'),
  // app_version: allowed characters, and ones each side of the rule (space, colon, slash, non-ASCII).
  fc.constantFrom('1.2.0', '2.0.0-rc.1+45', '1_0', '1.2.0 (45)', '1:2', '1/2', 'v1.2é', '1.2.0\n'),
  fc.stringMatching(/^[A-Za-z0-9._+ :-]{0,66}$/),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2026-11-28T10:00:00+02:00', '2026-11-28T10:00:00', '2026-02-29T00:00:00Z', '2026-11-28 10:00:00Z'),
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'screen', '1', 'toJSON'), fc.jsonValue({ maxDepth: 2 })),
);

const mutatedEvent = fc
  .record({
    replace: fc.dictionary(fc.constantFrom(...FIELDS, 'extra', '__proto__', 'constructor'), fieldValue, { maxKeys: 3 }),
    remove: fc.subarray([...FIELDS]),
  })
  .map(({ replace, remove }) => {
    const e: Record<string, unknown> = { ...event('com.dev.app'), ...replace };
    for (const k of remove) delete e[k];
    return parsed(e);
  });

describe('plainEvent', () => {
  it('returns the fields of a valid event as eventSchema does', () => {
    const item = parsed(event('com.dev.app'));
    expect(plainEvent(item)).toBeDefined();
    expect(row(plainEvent(item)!)).toEqual(row(eventSchema.parse(item)));
  });

  it.each([
    ['data with an own __proto__ key', { data: JSON.parse('{"__proto__":{"a":1},"b":2}') }],
    ['data with a constructor key', { data: { constructor: 'x' } }],
    ['data as an array', { data: [1] }],
    ['an event_type over 64 characters', { event_type: 'a'.repeat(65) }],
    ['an app over 255 characters', { app: 'a'.repeat(256) }],
    ['a device_id over 256 characters', { device_id: 'a'.repeat(257) }],
    ['a mosis_version over 64 characters', { mosis_version: 'a'.repeat(65) }],
    ['an app_version over 64 characters', { app_version: '1'.repeat(65) }],
    ['an app_version with a space', { app_version: '1.2.0 (45)' }],
    ['an app_version that is not a string', { app_version: 120 }],
    ['an empty app_version', { app_version: '' }],
    ['an event_id that is not a UUID', { event_id: 'not-a-uuid' }],
    ['a timestamp on a day that does not exist', { timestamp: '2026-02-29T00:00:00Z' }],
    ['a timestamp without a zone', { timestamp: '2026-11-28T10:00:00' }],
    ['an empty device_id', { device_id: '' }],
    ['data nested 33 levels deep', { data: nested(MAX_JSON_DEPTH + 1, [false]) }],
    ['data nested 33 levels deep in arrays', { data: nested(MAX_JSON_DEPTH + 1, [true]) }],
  ])('leaves %s to zod', (_name, over) => {
    const item = parsed(event('com.dev.app', over));
    expect(plainEvent(item)).toBeUndefined();
  });

  it('accepts only what eventSchema accepts, and gives the same row', () => {
    fc.assert(
      fc.property(fc.oneof(mutatedEvent, fc.jsonValue({ maxDepth: 3 })), (item) => {
        const fast = plainEvent(item);
        if (fast === undefined) return;
        const slow = eventSchema.safeParse(item);
        expect(slow.success).toBe(true);
        expect(row(fast)).toEqual(row(slow.data!));
      }),
      { numRuns: 5_000 },
    );
  });

  it('judges depth as eventSchema does: up to 32 levels pass, deeper ones zod rejects naming data', () => {
    fc.assert(
      fc.property(deepValue, (data) => {
        const item = parsed(event('com.dev.app', { data }));
        const slow = eventSchema.safeParse(item);
        const fast = plainEvent(item);
        if (fast !== undefined) {
          expect(slow.success).toBe(true);
          expect(row(fast)).toEqual(row(slow.data!));
        } else {
          expect(slow.success).toBe(false);
          expect(slow.error!.issues[0]!.path).toEqual(['data']);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it.each([
    ['every field', {}],
    ['no optional field', { event_id: undefined, mosis_version: undefined, app_version: undefined, data: undefined }],
    ['null optional fields', { event_id: null, mosis_version: null, app_version: null, data: null }],
    ['an app_version', { app_version: '2.0.0-rc.1+45' }],
    ['an app_version of 64 characters', { app_version: '1.'.repeat(32) }],
    ['an offset timestamp and an empty data', { timestamp: '2026-11-28T10:00:00.123+02:00', data: {} }],
    ['data nested exactly 32 levels deep', { data: nested(MAX_JSON_DEPTH, [false, true]) }],
  ])('takes the fast path for a valid event with %s (else it saves nothing)', (_name, over) => {
    const item = parsed(event('com.dev.app', over));
    expect(plainEvent(item)).toBeDefined();
    expect(row(plainEvent(item)!)).toEqual(row(eventSchema.parse(item)));
  });
});
