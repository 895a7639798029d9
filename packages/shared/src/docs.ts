import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { createHash } from 'node:crypto';
import { exampleOf, refName, resolveRef, type JsonSchema } from './docs-example.js';
import { errorBody } from './errors.js';

/**
 * `GET /docs`: a readable API reference rendered on the server from the service's own OpenAPI document.
 * Plain HTML and one inline stylesheet allowed by its hash; no script and nothing fetched from elsewhere,
 * since a self-hosted box may be offline. Everything taken from the document is escaped.
 */

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'] as const;

/** Where both services serve their OpenAPI document (mountOperationalRoutes). */
export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/** Ids the page sets itself; anchors made from the document never take them. */
const FIXED_IDS = ['top', 'authentication', 'errors', 'schemas'] as const;

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0;display:flex;color:#1d2330}
nav{width:300px;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f6fa;padding:1em;box-sizing:border-box;font-size:13px}
nav ul{list-style:none;padding:0;margin:0 0 1em}nav a{color:inherit;text-decoration:none}nav a:hover{text-decoration:underline}
main{padding:1em 2em;max-width:1000px;min-width:0}h2{border-bottom:2px solid #dde3ec;padding-bottom:.2em;margin-top:2em}
.op,.schema{border:1px solid #dde3ec;border-radius:6px;padding:.2em 1em 1em;margin:1em 0}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{text-align:left;border-bottom:1px solid #eef1f5;padding:.3em .5em;vertical-align:top}
pre{background:#f4f6fa;border-radius:4px;padding:.6em .8em;overflow:auto;font-size:13px}
.method{display:inline-block;min-width:3.8em;text-align:center;border-radius:3px;color:#fff;font-size:12px;font-weight:600;padding:0 .3em}
.get{background:#2f7d32}.post{background:#1565c0}.patch{background:#8e5c00}.put{background:#6a1b9a}.delete{background:#b71c1c}.head,.options{background:#546e7a}
.auth{font-size:12px;background:#e8eaf6;border-radius:3px;padding:0 .4em;font-weight:normal}.auth.none{background:#e8f5e9}
code{background:#f4f6fa;padding:0 .2em;border-radius:3px}pre code{padding:0;background:none}`;

/**
 * The page's Content-Security-Policy: nothing may load or run, except the one inline stylesheet, allowed
 * by its SHA-256 (so no `'unsafe-inline'`). Links still navigate: CSP does not govern navigation.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Escaped inline text with `backtick` spans shown as code, as descriptions in the documents are written. */
function inline(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** A description as HTML: paragraphs split by blank lines, a paragraph of `- ` lines as a list. */
function prose(text: unknown): string {
  if (typeof text !== 'string' || text.trim() === '') return '';
  return text
    .trim()
    .split(/\n\s*\n/)
    .map((para) => {
      const lines = para.split('\n');
      const head = lines[0]!.startsWith('- ') ? [] : [lines.shift()!];
      const items = lines.every((l) => l.startsWith('- ')) ? lines.map((l) => l.slice(2)) : undefined;
      if (!items || items.length === 0) return `<p>${inline(para.replaceAll('\n', ' '))}</p>`;
      return `${head.length ? `<p>${inline(head[0]!)}</p>` : ''}<ul>${items.map((i) => `<li>${inline(i)}</li>`).join('')}</ul>`;
    })
    .join('');
}

/** Letters, digits and `-` only: a valid, whitespace-free id that needs no escaping in a URL fragment. */
function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}

/**
 * Anchor ids of the page, assigned in document order: `post-v1-events`, `tag-api-keys`, `schema-App`.
 * The same document always gives the same ids; two names that slug alike get `-2`, `-3`.
 */
class Anchors {
  private readonly used = new Set<string>(FIXED_IDS);
  private readonly ids = new Map<string, string>();

  operation = (method: string, path: string) => this.id(`op ${method} ${path}`, `${method}-${slug(path)}`);
  tag = (name: string) => this.id(`tag ${name}`, `tag-${slug(name)}`);
  schema = (name: string) => this.id(`schema ${name}`, `schema-${slug(name)}`);

  private id(key: string, base: string): string {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = base;
      for (let n = 2; this.used.has(id); n++) id = `${base}-${n}`;
      this.used.add(id);
      this.ids.set(key, id);
    }
    return id;
  }
}

/** One operation of the document, in the order the page shows it. */
interface Operation {
  method: string;
  path: string;
  op: JsonSchema;
  /** Parameters of the path item and of the operation (the operation's win, by name and place). */
  parameters: JsonSchema[];
}

/** Every operation of an OpenAPI document, grouped by its first tag, in document order. */
export function operationsByTag(doc: JsonSchema): Map<string, Operation[]> {
  const byTag = new Map<string, Operation[]>();
  for (const [path, item] of Object.entries<JsonSchema>(doc?.paths ?? {})) {
    for (const method of METHODS) {
      const op = item?.[method];
      if (!op) continue;
      const params = new Map<string, JsonSchema>();
      for (const p of [...(item.parameters ?? []), ...(op.parameters ?? [])]) params.set(`${p?.in} ${p?.name}`, p);
      const tag = String(op.tags?.[0] ?? 'other');
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push({ method, path, op, parameters: [...params.values()] });
    }
  }
  return byTag;
}

/** Renders one document. */
class Page {
  readonly anchors = new Anchors();
  readonly schemas: Record<string, JsonSchema>;
  readonly securitySchemes: Record<string, JsonSchema>;

  constructor(readonly doc: JsonSchema) {
    this.schemas = doc?.components?.schemas ?? {};
    this.securitySchemes = doc?.components?.securitySchemes ?? {};
  }

  /** A `$ref` resolved to its component (one level), or the schema itself. */
  resolve(schema: JsonSchema): JsonSchema {
    return schema?.$ref !== undefined ? resolveRef(schema.$ref, this.schemas) ?? schema : schema;
  }

  /** A short type expression: `string (uuid)`, a link to `App`, `array<App>`, `"a" | "b"`. */
  typeOf(schema: JsonSchema): string {
    if (!schema || typeof schema !== 'object') return 'any';
    if (schema.$ref !== undefined) {
      const name = refName(schema.$ref);
      if (name === undefined || !Object.hasOwn(this.schemas, name)) return escapeHtml(name ?? schema.$ref);
      return `<a href="#${this.anchors.schema(name)}">${escapeHtml(name)}</a>`;
    }
    if (Array.isArray(schema.enum)) return schema.enum.map((v: unknown) => `<code>${escapeHtml(JSON.stringify(v))}</code>`).join(' | ');
    if (schema.const !== undefined) return `<code>${escapeHtml(JSON.stringify(schema.const))}</code>`;
    const branches = schema.anyOf ?? schema.oneOf;
    if (Array.isArray(branches)) return branches.map((b: JsonSchema) => this.typeOf(b)).join(' | ');
    if (Array.isArray(schema.allOf)) return schema.allOf.map((b: JsonSchema) => this.typeOf(b)).join(' &amp; ');
    const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type ?? (schema.properties ? 'object' : 'any')];
    return types
      .map((type) => {
        if (type === 'array') return `array&lt;${this.typeOf(schema.items)}&gt;`;
        return escapeHtml(type) + (type !== 'null' && schema.format ? ` <small>(${escapeHtml(schema.format)})</small>` : '');
      })
      .join(' | ');
  }

  /** Bounds, patterns and defaults worth showing beside a field. */
  constraints(schema: JsonSchema): string {
    if (!schema || typeof schema !== 'object') return '';
    const parts: string[] = [];
    for (const [key, label] of [
      ['minLength', 'min length'],
      ['maxLength', 'max length'],
      ['minimum', 'min'],
      ['exclusiveMinimum', 'more than'],
      ['maximum', 'max'],
      ['exclusiveMaximum', 'less than'],
      ['minItems', 'min items'],
      ['maxItems', 'max items'],
      ['pattern', 'pattern'],
      ['default', 'default'],
    ] as const) {
      const value = schema[key];
      if (value !== undefined) parts.push(`${label} <code>${escapeHtml(typeof value === 'string' ? value : JSON.stringify(value))}</code>`);
    }
    return parts.length ? `<small>${parts.join(', ')}</small>` : '';
  }

  /** The fields of an object schema as a table; nested objects (two levels) in place, refs as links. */
  fields(schema: JsonSchema, depth = 0): string {
    if (!schema || typeof schema !== 'object') return '';
    if (Array.isArray(schema.allOf)) return schema.allOf.map((part: JsonSchema) => this.fields(this.resolve(part), depth)).join('');
    const isObject = schema.type === 'object' || (Array.isArray(schema.type) && schema.type.includes('object')) || (!schema.type && schema.properties);
    if (schema.$ref !== undefined || !isObject || !schema.properties) return `<p>${this.typeOf(schema)}</p>`;
    const required = new Set<string>(schema.required ?? []);
    const rows = Object.entries<JsonSchema>(schema.properties).map(([name, prop]) => {
      const inner = prop?.type === 'array' ? prop.items : prop;
      const nested = depth < 2 && inner?.properties ? this.fields(inner, depth + 1) : '';
      const notes = [prose(prop?.description), this.constraints(prop)].filter(Boolean).join(' ');
      return `<tr><td><code>${escapeHtml(name)}</code>${required.has(name) ? '' : ' <small>optional</small>'}</td><td>${this.typeOf(prop)}</td><td>${notes}${nested}</td></tr>`;
    });
    return `<table><thead><tr><th>field</th><th>type</th><th>notes</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  }

  /** A media type's example: the document's own (`example`, first of `examples`), else one from its schema. */
  example(media: JsonSchema): unknown {
    if (media?.example !== undefined) return media.example;
    const named = Object.values<JsonSchema>(media?.examples ?? {})[0];
    if (named?.value !== undefined) return named.value;
    return exampleOf(media?.schema, this.schemas);
  }

  exampleBlock(title: string, media: JsonSchema): string {
    const value = this.example(media);
    return value === undefined ? '' : `<p><small>${title}</small></p><pre><code>${escapeHtml(JSON.stringify(value, null, 2))}</code></pre>`;
  }

  security(op: JsonSchema): string {
    const requirements: JsonSchema[] = op.security ?? this.doc?.security ?? [];
    const names = [...new Set(requirements.flatMap((r) => Object.keys(r ?? {})))];
    if (names.length === 0) return '<span class="auth none">no auth</span>';
    return names
      .map((name) => {
        const scheme = this.securitySchemes[name];
        const label = scheme?.type === 'http' && String(scheme.scheme).toLowerCase() === 'bearer' ? 'Bearer token' : name;
        return `<a class="auth" href="#authentication">${escapeHtml(label)}</a>`;
      })
      .join(' ');
  }

  operation({ method, path, op, parameters }: Operation): string {
    const paramRows = parameters
      .map((ref) => {
        const name = refName(ref?.$ref, 'parameters');
        const p = name !== undefined ? this.doc?.components?.parameters?.[name] ?? ref : ref;
        const example = p?.example ?? p?.schema?.example;
        const notes = [prose(p?.description ?? p?.schema?.description), this.constraints(p?.schema), example !== undefined ? `<small>example <code>${escapeHtml(typeof example === 'string' ? example : JSON.stringify(example))}</code></small>` : ''];
        return `<tr><td><code>${escapeHtml(p?.name)}</code></td><td>${escapeHtml(p?.in)}</td><td>${p?.required ? 'yes' : 'no'}</td><td>${this.typeOf(p?.schema)}</td><td>${notes.filter(Boolean).join(' ')}</td></tr>`;
      })
      .join('');
    const body = Object.entries<JsonSchema>(op.requestBody?.content ?? {})
      .map(([type, media]) => {
        const json = /json/.test(type);
        return `<h4>Request body <small><code>${escapeHtml(type)}</code>${op.requestBody?.required ? '' : ', optional'}</small> ${this.typeOf(media?.schema)}</h4>${prose(op.requestBody?.description)}${json ? this.fields(this.resolve(media?.schema)) + this.exampleBlock('example', media) : ''}`;
      })
      .join('');
    const responses = Object.entries<JsonSchema>(op.responses ?? {});
    const rows = responses
      .map(([status, r]) => {
        const types = Object.entries<JsonSchema>(r?.content ?? {});
        const isError = Number(status) >= 400;
        const shape = types.map(([type, media]) => (/json/.test(type) ? this.typeOf(media?.schema) : `<code>${escapeHtml(type)}</code>`)).join(', ');
        const bodyCell = isError && types.length ? `<a href="#errors">error body</a>` : shape;
        return `<tr><td><code>${escapeHtml(status)}</code></td><td>${prose(r?.description)}</td><td>${bodyCell}</td></tr>`;
      })
      .join('');
    const examples = responses
      .filter(([status]) => Number(status) < 400 || status === 'default')
      .flatMap(([status, r]) =>
        Object.entries<JsonSchema>(r?.content ?? {})
          .filter(([type]) => /json/.test(type))
          .map(([, media]) => this.exampleBlock(`response <code>${escapeHtml(status)}</code> example`, media)),
      )
      .join('');
    return `<section class="op" id="${this.anchors.operation(method, path)}">
<h3><span class="method ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code> ${this.security(op)}</h3>
${op.summary ? `<p><strong>${inline(String(op.summary))}</strong></p>` : ''}${prose(op.description)}
${paramRows ? `<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>required</th><th>type</th><th>notes</th></tr></thead><tbody>${paramRows}</tbody></table>` : ''}
${body}
<h4>Responses</h4><table><thead><tr><th>status</th><th>meaning</th><th>body</th></tr></thead><tbody>${rows}</tbody></table>
${examples}
</section>`;
  }

  authentication(): string {
    const schemes = Object.entries<JsonSchema>(this.securitySchemes);
    if (schemes.length === 0) return '';
    const items = schemes.map(([name, s]) => {
      const how = s?.type === 'http' ? `<code>Authorization: ${escapeHtml(String(s.scheme ?? '').replace(/^bearer$/i, 'Bearer'))} &lt;token&gt;</code>` : escapeHtml(s?.type);
      return `<li><strong>${escapeHtml(name)}</strong>: ${how}${s?.description ? ` ${inline(String(s.description))}` : ''}</li>`;
    });
    return `<h2 id="authentication">Authentication</h2><p>Operations marked with a scheme need it; the others need none.</p><ul>${items.join('')}</ul>`;
  }

  errors(): string {
    const examples = [
      errorBody('unsupported_media_type', 'Content-Type must be application/json'),
      errorBody('invalid_query', 'limit: must be at most 100', [{ path: 'limit', message: 'must be at most 100' }]),
    ];
    return `<h2 id="errors">Errors</h2>
<p>Every 4xx and 5xx answer has a JSON body <code>{"error": {"code", "message", "details"}}</code>. <code>code</code> is a
snake_case name of what was wrong (each operation lists the codes of its responses), <code>message</code> is for people,
and <code>details</code>, when present, carries specifics such as every invalid field. A <code>429</code> or
<code>503</code> has a <code>Retry-After</code> header (seconds). A <code>500</code> is a bug in the service, whatever was sent.</p>
${examples.map((e) => `<pre><code>${escapeHtml(JSON.stringify(e, null, 2))}</code></pre>`).join('')}`;
  }

  render(openapiPath: string): string {
    const byTag = operationsByTag(this.doc);
    const title = escapeHtml(this.doc?.info?.title ?? 'API');
    // Ids first, in document order, so that they depend on the document alone, not on what links where.
    for (const [tag, ops] of byTag) {
      this.anchors.tag(tag);
      for (const o of ops) this.anchors.operation(o.method, o.path);
    }
    for (const name of Object.keys(this.schemas)) this.anchors.schema(name);
    const sections = [...byTag].map(([tag, ops]) => `<h2 id="${this.anchors.tag(tag)}">${escapeHtml(tag)}</h2>${ops.map((o) => this.operation(o)).join('\n')}`);
    const schemaNames = Object.keys(this.schemas);
    const schemaSections = schemaNames.map((name) => {
      const s = this.schemas[name];
      return `<section class="schema" id="${this.anchors.schema(name)}"><h3>${escapeHtml(name)}</h3>${prose(s?.description)}${this.fields(s)}${this.exampleBlock('example', { schema: s })}</section>`;
    });
    const auth = this.authentication();
    const nav = [
      auth ? '<p><a href="#authentication"><strong>Authentication</strong></a></p>' : '',
      '<p><a href="#errors"><strong>Errors</strong></a></p>',
      ...[...byTag].map(
        ([tag, ops]) =>
          `<p><a href="#${this.anchors.tag(tag)}"><strong>${escapeHtml(tag)}</strong></a></p><ul>${ops
            .map((o) => `<li><a href="#${this.anchors.operation(o.method, o.path)}"><span class="method ${escapeHtml(o.method)}">${escapeHtml(o.method.toUpperCase())}</span> ${escapeHtml(o.path)}</a></li>`)
            .join('')}</ul>`,
      ),
      schemaNames.length
        ? `<p><a href="#schemas"><strong>Schemas</strong></a></p><ul>${schemaNames.map((n) => `<li><a href="#${this.anchors.schema(n)}">${escapeHtml(n)}</a></li>`).join('')}</ul>`
        : '',
      `<p><a href="${escapeHtml(openapiPath)}">${escapeHtml(openapiPath.replace(/^\//, ''))}</a></p>`,
    ];
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} reference</title>
<style>${STYLE}</style></head>
<body><nav><p><a href="#top"><strong>${title}</strong></a> <small>${escapeHtml(this.doc?.info?.version ?? '')}</small></p>
${nav.filter(Boolean).join('\n')}</nav>
<main><h1 id="top">${title}</h1>${prose(this.doc?.info?.description)}
<p>The machine-readable description of this API is <a href="${escapeHtml(openapiPath)}">${escapeHtml(openapiPath)}</a>.</p>
${auth}
${this.errors()}
${sections.join('\n')}
${schemaNames.length ? `<h2 id="schemas">Schemas</h2>${schemaSections.join('\n')}` : ''}
</main></body></html>`;
  }
}

/** Renders an OpenAPI 3.1 document as one HTML page: operations grouped by tag, then every named schema. */
export function renderDocs(doc: JsonSchema, opts: { openapiPath?: string } = {}): string {
  return new Page(doc).render(opts.openapiPath ?? OPENAPI_PATH);
}

/**
 * Mounts `GET /docs` on a service app that serves its OpenAPI document at /openapi.json. The page is
 * rendered from that very document (fetched from the app itself, once, on the first request), so it lists
 * exactly what /openapi.json does.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function mountDocs(app: OpenAPIHono<any>): void {
  let page: string | undefined;
  app.openapi(
    createRoute({
      method: 'get',
      path: DOCS_PATH,
      tags: ['operations'],
      summary: 'This API reference, as a web page',
      responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } } },
    }),
    async (c) => {
      if (page === undefined) {
        const res = await app.request(OPENAPI_PATH);
        if (!res.ok) throw new Error(`${DOCS_PATH}: ${OPENAPI_PATH} answered ${res.status}`);
        page = renderDocs(await res.json());
      }
      return c.html(page, 200, { 'Content-Security-Policy': DOCS_CSP, 'X-Content-Type-Options': 'nosniff' });
    },
  );
}
