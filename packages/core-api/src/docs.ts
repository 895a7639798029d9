import { createRoute, z } from '@hono/zod-openapi';
import type { CoreApp } from './context.js';

/**
 * `/docs`: a readable API reference rendered on the server from the same OpenAPI document as /openapi.json.
 * Plain HTML and a little CSS, no scripts and nothing fetched from a CDN: a self-hosted box may be offline.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Escaped text with `backtick` spans shown as code, as descriptions in the document are written. */
function prose(text: unknown): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** A short type expression for a JSON schema: `string`, `Developer`, `array<App>`, `"a" | "b"`. */
function typeOf(schema: Json): string {
  if (!schema || typeof schema !== 'object') return 'any';
  if (schema.$ref) {
    const name = String(schema.$ref).split('/').pop();
    return `<a href="#schema-${escapeHtml(name)}">${escapeHtml(name)}</a>`;
  }
  if (schema.enum) return schema.enum.map((v: unknown) => escapeHtml(JSON.stringify(v))).join(' | ');
  if (schema.anyOf || schema.oneOf) return (schema.anyOf ?? schema.oneOf).map(typeOf).join(' | ');
  if (schema.allOf) return schema.allOf.map(typeOf).join(' &amp; ');
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type;
  if (type === 'array') return `array&lt;${typeOf(schema.items)}&gt;`;
  if (type === 'object' && schema.properties) return 'object';
  return escapeHtml(type ?? 'any') + (schema.format ? ` <small>(${escapeHtml(schema.format)})</small>` : '');
}

/** Constraints worth showing next to a field: bounds, patterns, defaults. */
function constraints(schema: Json): string {
  if (!schema || typeof schema !== 'object') return '';
  const parts: string[] = [];
  for (const [key, label] of [
    ['minLength', 'min length'],
    ['maxLength', 'max length'],
    ['minimum', 'min'],
    ['maximum', 'max'],
    ['minItems', 'min items'],
    ['maxItems', 'max items'],
    ['pattern', 'pattern'],
    ['default', 'default'],
  ] as const) {
    if (schema[key] !== undefined) parts.push(`${label} <code>${escapeHtml(typeof schema[key] === 'string' ? schema[key] : JSON.stringify(schema[key]))}</code>`);
  }
  return parts.join(', ');
}

/** A table of an object schema's fields (one level; nested objects and refs link or recurse). */
function fieldsTable(schema: Json, depth = 0): string {
  if (!schema || typeof schema !== 'object') return '';
  if (schema.allOf) return schema.allOf.map((part: Json) => fieldsTable(part, depth)).join('');
  const isObject = schema.type === 'object' || (Array.isArray(schema.type) && schema.type.includes('object'));
  if (schema.$ref || !isObject || !schema.properties) return `<p>${typeOf(schema)}</p>`;
  const required = new Set<string>(schema.required ?? []);
  const rows = Object.entries<Json>(schema.properties).map(([name, prop]) => {
    const nested = depth < 2 && prop?.properties ? fieldsTable(prop, depth + 1) : '';
    return `<tr><td><code>${escapeHtml(name)}</code>${required.has(name) ? '' : ' <small>optional</small>'}</td><td>${typeOf(prop)}</td><td>${prose(prop?.description ?? '')} ${constraints(prop)}${nested}</td></tr>`;
  });
  return `<table><thead><tr><th>field</th><th>type</th><th>notes</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function operationHtml(path: string, method: string, op: Json, schemas: Record<string, Json>): string {
  const resolve = (schema: Json) => (schema?.$ref ? schemas[String(schema.$ref).split('/').pop()!] ?? schema : schema);
  const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');
  const params = (op.parameters ?? []) as Json[];
  const paramRows = params
    .map((p) => `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}</td><td>${p.required ? 'yes' : 'no'}</td><td>${typeOf(p.schema)}</td><td>${prose(p.description ?? p.schema?.description ?? '')} ${constraints(p.schema)}</td></tr>`)
    .join('');
  const body = op.requestBody?.content?.['application/json']?.schema;
  const responses = Object.entries<Json>(op.responses ?? {})
    .map(([status, r]) => {
      const schema = r.content ? (Object.values<Json>(r.content)[0]?.schema) : undefined;
      return `<tr><td><code>${escapeHtml(status)}</code></td><td>${prose(r.description ?? '')}</td><td>${schema ? typeOf(schema) : ''}</td></tr>`;
    })
    .join('');
  const auth = op.security?.length ? '<span class="auth">Bearer token</span>' : '<span class="auth none">no auth</span>';
  return `<section class="op" id="${escapeHtml(id)}">
<h3><span class="method ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code> ${auth}</h3>
<p><strong>${prose(op.summary ?? '')}</strong></p>${op.description ? `<p>${prose(op.description)}</p>` : ''}
${paramRows ? `<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>required</th><th>type</th><th>notes</th></tr></thead><tbody>${paramRows}</tbody></table>` : ''}
${body ? `<h4>Request body <small>application/json</small> ${typeOf(body)}</h4>${fieldsTable(resolve(body))}` : ''}
<h4>Responses</h4><table><thead><tr><th>status</th><th>meaning</th><th>body</th></tr></thead><tbody>${responses}</tbody></table>
</section>`;
}

/** Renders an OpenAPI 3.1 document as one HTML page: operations grouped by tag, then every named schema. */
export function renderDocs(doc: Json): string {
  const byTag = new Map<string, string[]>();
  const toc = new Map<string, string[]>();
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item?.[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? 'other';
      if (!byTag.has(tag)) {
        byTag.set(tag, []);
        toc.set(tag, []);
      }
      byTag.get(tag)!.push(operationHtml(path, method, op, doc.components?.schemas ?? {}));
      const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');
      toc.get(tag)!.push(`<li><a href="#${escapeHtml(id)}"><span class="method ${method}">${method.toUpperCase()}</span> ${escapeHtml(path)}</a></li>`);
    }
  }
  const schemas = Object.entries<Json>(doc.components?.schemas ?? {})
    .map(([name, s]) => `<section class="schema" id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3>${s.description ? `<p>${escapeHtml(s.description)}</p>` : ''}${fieldsTable(s)}</section>`)
    .join('\n');
  const title = escapeHtml(doc.info?.title ?? 'API');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;display:flex;color:#1d2330}
nav{width:300px;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f6fa;padding:1em;box-sizing:border-box;font-size:13px}
nav ul{list-style:none;padding:0;margin:0 0 1em}nav a{color:inherit;text-decoration:none}
main{padding:1em 2em;max-width:1000px}h2{border-bottom:2px solid #dde3ec;padding-bottom:.2em;margin-top:2em;text-transform:capitalize}
.op,.schema{border:1px solid #dde3ec;border-radius:6px;padding:.2em 1em 1em;margin:1em 0}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{text-align:left;border-bottom:1px solid #eef1f5;padding:.3em .5em;vertical-align:top}
.method{display:inline-block;min-width:3.8em;text-align:center;border-radius:3px;color:#fff;font-size:12px;font-weight:600;padding:0 .3em}
.get{background:#2f7d32}.post{background:#1565c0}.patch{background:#8e5c00}.put{background:#6a1b9a}.delete{background:#b71c1c}
.auth{font-size:12px;background:#e8eaf6;border-radius:3px;padding:0 .4em;font-weight:normal}.auth.none{background:#e8f5e9}
code{background:#f4f6fa;padding:0 .2em;border-radius:3px}
</style></head>
<body><nav><strong>${title}</strong> <small>${escapeHtml(doc.info?.version ?? '')}</small>
${[...toc].map(([tag, items]) => `<p><a href="#tag-${escapeHtml(tag)}"><strong>${escapeHtml(tag)}</strong></a></p><ul>${items.join('')}</ul>`).join('')}
<p><a href="#schemas"><strong>schemas</strong></a></p><p><a href="/openapi.json">openapi.json</a></p></nav>
<main><h1>${title}</h1><p>${prose(doc.info?.description ?? '')}</p>
<p>Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>: a session token from <code>POST /v1/auth/login</code> or an API key (<code>mk_…</code>).
Errors are <code>{"error": {"code", "message", "details"}}</code>. The machine-readable description is <a href="/openapi.json">/openapi.json</a>.</p>
${[...byTag].map(([tag, ops]) => `<h2 id="tag-${escapeHtml(tag)}">${escapeHtml(tag)}</h2>${ops.join('\n')}`).join('\n')}
<h2 id="schemas">Schemas</h2>${schemas}
</main></body></html>`;
}

/** Mounts `GET /docs`. Call after every route is registered; the page is built once, on first request. */
export function registerDocs(app: CoreApp, info: { title: string; version: string; description: string }): void {
  let page: string | undefined;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/docs',
      tags: ['operations'],
      summary: 'This API reference, as a web page',
      responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } } },
    }),
    (c) => {
      page ??= renderDocs(app.getOpenAPI31Document({ openapi: '3.1.0', info }));
      return c.html(page, 200);
    },
  );
}
