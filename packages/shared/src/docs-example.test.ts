import { describe, expect, it } from 'vitest';
import { exampleOf, MAX_EXAMPLE_DEPTH } from './docs-example.js';

const components = {
  App: { type: 'object', properties: { id: { type: 'string', format: 'uuid' }, name: { type: 'string' } }, required: ['id', 'name'] },
  Named: { type: 'object', properties: { n: { type: 'integer' } }, example: { n: 42 } },
  Tree: { type: 'object', properties: { child: { $ref: '#/components/schemas/Tree' } }, required: ['child'] },
};

describe('exampleOf', () => {
  it.each([
    ['a string', { type: 'string' }, 'string'],
    ['a string padded to minLength', { type: 'string', minLength: 9 }, 'stringxxx'],
    ['a string cut to maxLength', { type: 'string', maxLength: 3 }, 'str'],
    ['a date-time', { type: 'string', format: 'date-time' }, '2026-11-28T10:00:00.000Z'],
    ['a date', { type: 'string', format: 'date' }, '2026-11-28'],
    ['an email', { type: 'string', format: 'email' }, 'ada@example.com'],
    ['a uuid', { type: 'string', format: 'uuid' }, '0193f1c2-6c1e-7a53-9d1e-2b7f5a0c4e11'],
    ['a uri', { type: 'string', format: 'uri' }, 'https://example.com/'],
    ['the first enum value', { type: 'string', enum: ['draft', 'published'] }, 'draft'],
    ['a const', { const: 'ok' }, 'ok'],
    ['an integer at its minimum', { type: 'integer', minimum: 1 }, 1],
    ['an integer above an exclusive minimum', { type: 'integer', exclusiveMinimum: 0 }, 1],
    ['a negative number under its maximum', { type: 'number', maximum: -3 }, -3],
    ['zero for a plain number', { type: 'number' }, 0],
    ['true for a boolean', { type: 'boolean' }, true],
    ['the non-null type of a nullable', { type: ['string', 'null'] }, 'string'],
    ['null for a null type', { type: 'null' }, null],
    ['the non-null branch of anyOf [X, null]', { anyOf: [{ type: 'null' }, { type: 'integer' }] }, 0],
    ['the first branch of oneOf', { oneOf: [{ type: 'boolean' }, { type: 'string' }] }, true],
    ['the schema`s own example first', { type: 'string', example: 'com.dev.app' }, 'com.dev.app'],
    ['the first of `examples`', { type: 'string', examples: ['a', 'b'] }, 'a'],
    ['a default', { type: 'integer', default: 50 }, 50],
    ['null for an empty schema', {}, null],
    ['an array of one item', { type: 'array', items: { type: 'integer' } }, [0]],
    ['an array without items schema', { type: 'array' }, []],
    ['a resolved $ref', { $ref: '#/components/schemas/App' }, { id: '0193f1c2-6c1e-7a53-9d1e-2b7f5a0c4e11', name: 'string' }],
    ['a named schema`s example', { $ref: '#/components/schemas/Named' }, { n: 42 }],
    ['null for a dangling $ref', { $ref: '#/components/schemas/Missing' }, null],
    ['merged allOf objects', { allOf: [{ $ref: '#/components/schemas/App' }, { type: 'object', properties: { extra: { type: 'boolean' } } }] }, { id: '0193f1c2-6c1e-7a53-9d1e-2b7f5a0c4e11', name: 'string', extra: true }],
    ['a map from additionalProperties', { type: 'object', additionalProperties: { type: 'integer' } }, { key: 0 }],
    ['an empty object for a free-form map', { type: 'object', additionalProperties: {} }, {}],
  ])('gives %s', (_what, schema, expected) => {
    expect(exampleOf(schema, components)).toEqual(expected);
  });

  it('builds objects with every field but optional free-form ones, nested, in property order', () => {
    const schema = {
      type: 'object',
      properties: {
        error: {
          type: 'object',
          properties: { code: { type: 'string', example: 'not_found' }, message: { type: 'string' }, details: {} },
          required: ['code', 'message'],
        },
        items: { type: 'array', items: { type: 'object', properties: { at: { type: 'string', format: 'date' }, n: { type: ['integer', 'null'] } } } },
      },
      required: ['error'],
    };
    expect(JSON.stringify(exampleOf(schema))).toBe('{"error":{"code":"not_found","message":"string"},"items":[{"at":"2026-11-28","n":0}]}');
  });

  it(`stops at ${MAX_EXAMPLE_DEPTH} levels on a schema that refers to itself`, () => {
    let node = exampleOf({ $ref: '#/components/schemas/Tree' }, components) as Record<string, unknown> | null;
    let levels = 0;
    while (node && typeof node === 'object' && 'child' in node) {
      node = node.child as Record<string, unknown> | null;
      levels++;
    }
    expect(levels).toBeGreaterThan(0);
    expect(levels).toBeLessThanOrEqual(MAX_EXAMPLE_DEPTH);
  });
});
