/**
 * Example values for the API reference: a schema's own `example` where the document gives one (zod's
 * `.openapi({ example })`), otherwise one generated from the JSON Schema. Generated examples show the shape
 * and the formats, not real data; they are deterministic, so the page is the same on every start.
 */

// An OpenAPI document is untyped JSON here: the renderer reads whatever the document holds.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonSchema = any;

/** Nesting levels (objects, arrays, `$ref`s) generated before an example is cut short with `{}` or `[]`. */
export const MAX_EXAMPLE_DEPTH = 8;

/** Values for the string formats zod and OpenAPI name; other strings are `"string"`. */
const FORMAT_EXAMPLES: Record<string, string> = {
  'date-time': '2026-11-28T10:00:00.000Z',
  date: '2026-11-28',
  time: '10:00:00Z',
  duration: 'PT1H',
  email: 'ada@example.com',
  uuid: '0193f1c2-6c1e-7a53-9d1e-2b7f5a0c4e11',
  uri: 'https://example.com/',
  url: 'https://example.com/',
  hostname: 'example.com',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
  byte: 'aGVsbG8=',
  base64: 'aGVsbG8=',
  base64url: 'aGVsbG8',
};

/** The component name in a `$ref` like `#/components/schemas/App` (`App`), or undefined for other refs. */
export function refName(ref: unknown, kind: 'schemas' | 'parameters' = 'schemas'): string | undefined {
  const prefix = `#/components/${kind}/`;
  return typeof ref === 'string' && ref.startsWith(prefix) && ref.length > prefix.length ? ref.slice(prefix.length) : undefined;
}

/** The named component a `$ref` points to, if the document has it. */
export function resolveRef(ref: unknown, schemas: Record<string, JsonSchema>): JsonSchema | undefined {
  const name = refName(ref);
  return name !== undefined && Object.hasOwn(schemas, name) ? schemas[name] : undefined;
}

/** An example for `schema`; `schemas` are the document's components, for `$ref`s. */
export function exampleOf(schema: JsonSchema, schemas: Record<string, JsonSchema> = {}, depth = 0): unknown {
  if (!isRecord(schema)) return null; // `true`, `{}`-like: anything goes
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if (schema.$ref !== undefined) {
    const target = resolveRef(schema.$ref, schemas);
    return target !== undefined && depth < MAX_EXAMPLE_DEPTH ? exampleOf(target, schemas, depth + 1) : null;
  }
  const branches = schema.oneOf ?? schema.anyOf;
  if (Array.isArray(branches) && branches.length > 0) {
    // The first branch that is not `null`: `anyOf: [X, {type: null}]` is how a nullable X is written.
    return exampleOf(branches.find((b) => !isNullSchema(b)) ?? branches[0], schemas, depth);
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    const parts = schema.allOf.map((part: JsonSchema) => exampleOf(part, schemas, depth));
    return parts.every(isRecord) ? Object.assign({}, ...parts) : parts[0];
  }
  if (schema.default !== undefined) return schema.default;

  switch (typeName(schema)) {
    case 'object':
      return objectExample(schema, schemas, depth);
    case 'array':
      return depth < MAX_EXAMPLE_DEPTH && schema.items !== undefined ? [exampleOf(schema.items, schemas, depth + 1)] : [];
    case 'string':
      return stringExample(schema);
    case 'integer':
      return numberExample(schema, true);
    case 'number':
      return numberExample(schema, false);
    case 'boolean':
      return true;
    default:
      return null;
  }
}

function objectExample(schema: JsonSchema, schemas: Record<string, JsonSchema>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (depth >= MAX_EXAMPLE_DEPTH) return out;
  const required = new Set<string>(Array.isArray(schema.required) ? schema.required : []);
  for (const [name, prop] of Object.entries<JsonSchema>(isRecord(schema.properties) ? schema.properties : {})) {
    // An optional field of any type (`details: {}`) says nothing an example could show.
    if (!required.has(name) && isRecord(prop) && Object.keys(prop).length === 0) continue;
    out[name] = exampleOf(prop, schemas, depth + 1);
  }
  const extra = schema.additionalProperties;
  if (Object.keys(out).length === 0 && isRecord(extra) && Object.keys(extra).length > 0) {
    out.key = exampleOf(extra, schemas, depth + 1);
  }
  return out;
}

function stringExample(schema: JsonSchema): string {
  const formatted = typeof schema.format === 'string' ? FORMAT_EXAMPLES[schema.format] : undefined;
  if (formatted !== undefined) return formatted;
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  return 'string'.padEnd(min, 'x').slice(0, max);
}

function numberExample(schema: JsonSchema, integer: boolean): number {
  const step = integer ? 1 : 0.5;
  if (typeof schema.minimum === 'number') return schema.minimum;
  if (typeof schema.exclusiveMinimum === 'number') return schema.exclusiveMinimum + step;
  if (typeof schema.maximum === 'number' && schema.maximum < 0) return schema.maximum;
  if (typeof schema.exclusiveMaximum === 'number' && schema.exclusiveMaximum <= 0) return schema.exclusiveMaximum - step;
  return 0;
}

/** The schema's type, the first that is not `null` when it lists several (`["string", "null"]`). */
function typeName(schema: JsonSchema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((t: unknown) => t !== 'null') ?? 'null';
  if (typeof schema.type === 'string') return schema.type;
  if (schema.properties !== undefined) return 'object';
  if (schema.items !== undefined) return 'array';
  return undefined;
}

function isNullSchema(schema: JsonSchema): boolean {
  return isRecord(schema) && (schema.type === 'null' || (Array.isArray(schema.type) && schema.type.length === 1 && schema.type[0] === 'null'));
}

function isRecord(value: unknown): value is Record<string, JsonSchema> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
