import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { docsPageProblems } from './docs-check.js';
import { DOCS_CSP, mountDocs, renderDocs } from './docs.js';

const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&';

/** A document with hostile text in every place the page shows text from, and names that slug alike. */
const hostileDoc = {
  openapi: '3.1.0',
  info: { title: HOSTILE, version: HOSTILE, description: `intro ${HOSTILE}` },
  components: {
    securitySchemes: { [HOSTILE]: { type: 'http', scheme: 'bearer', description: HOSTILE } },
    schemas: {
      [HOSTILE]: { type: 'object', description: HOSTILE, properties: { [HOSTILE]: { type: 'string', description: HOSTILE, pattern: HOSTILE, example: HOSTILE } } },
      'A.B': { type: 'string', enum: [HOSTILE] },
      'A-B': { type: 'string' },
    },
  },
  paths: {
    [`/x/{${HOSTILE}}`]: {
      get: {
        tags: [HOSTILE],
        summary: HOSTILE,
        description: `- ${HOSTILE}\n- \`${HOSTILE}\``,
        security: [{ [HOSTILE]: [] }],
        parameters: [{ name: HOSTILE, in: 'query', description: HOSTILE, schema: { type: 'string', example: HOSTILE } }],
        requestBody: { content: { 'application/json': { schema: { $ref: `#/components/schemas/${HOSTILE}` } } } },
        responses: { 200: { description: HOSTILE, content: { 'application/json': { schema: { $ref: '#/components/schemas/A.B' } } } } },
      },
    },
    '/a/b': { get: { tags: ['api keys'], responses: { 204: { description: 'ok' } } } },
    '/a-b': { get: { tags: ['api keys'], responses: { 204: { description: 'ok' } } } },
  },
};

describe('renderDocs', () => {
  it('escapes every text it takes from the document', () => {
    const html = renderDocs(hostileDoc);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('"\'&');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#39;&amp;');
    expect(docsPageProblems({ html, csp: DOCS_CSP }, hostileDoc)).toEqual([]);
  });

  it('gives every section a space-free id that the contents link to, the same on every render', () => {
    const html = renderDocs(hostileDoc);
    expect(html).toContain('id="tag-api-keys"');
    expect(html).toContain('<li><a href="#get-a-b">');
    expect(html).toContain('<li><a href="#get-a-b-2">'); // `/a-b` slugs like `/a/b`: made unique, in document order
    expect(html).toContain('id="schema-A-B"');
    expect(html).toContain('id="schema-A-B-2"');
    expect(renderDocs(hostileDoc)).toBe(html);
  });

  it('shows the document`s examples, or generated ones, for requests and responses', () => {
    const doc = {
      info: { title: 't', version: '1' },
      components: { schemas: { Out: { type: 'object', properties: { at: { type: 'string', format: 'date-time' } }, required: ['at'] } } },
      paths: {
        '/in': {
          post: {
            requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { n: { type: 'integer' } }, example: { n: 7 } } } } },
            responses: {
              201: { description: 'made', content: { 'application/json': { schema: { $ref: '#/components/schemas/Out' } } } },
              409: { description: '`conflict`', content: { 'application/json': { schema: { type: 'object' } } } },
            },
          },
        },
      },
    };
    const html = renderDocs(doc);
    expect(html).toContain('<pre><code>{\n  &quot;n&quot;: 7\n}</code></pre>');
    expect(html).toContain('response <code>201</code> example');
    expect(html).toContain('&quot;at&quot;: &quot;2026-11-28T10:00:00.000Z&quot;');
    expect(html).not.toContain('response <code>409</code> example'); // errors: the shared format, shown once
    expect(html).toContain('<a href="#errors">error body</a>');
    expect(html).toContain('id="errors"');
  });

  it('renders a description`s list and code spans', () => {
    const html = renderDocs({ info: { title: 't' }, paths: { '/p': { get: { description: 'Reasons:\n- `a`: one\n- `b`: two', responses: {} } } } });
    expect(html).toContain('<p>Reasons:</p><ul><li><code>a</code>: one</li><li><code>b</code>: two</li></ul>');
  });
});

describe('mountDocs', () => {
  it('serves the page of the app`s own /openapi.json, under a policy that allows no script', async () => {
    const app = new OpenAPIHono();
    app.openapi(
      createRoute({ method: 'get', path: '/things/{id}', tags: ['things'], request: { params: z.object({ id: z.string() }) }, responses: { 204: { description: 'none' } } }),
      (c) => c.body(null, 204),
    );
    app.doc31('/openapi.json', { openapi: '3.1.0', info: { title: 'Things', version: '1' } });
    mountDocs(app);
    const res = await app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(['/things/{id}', '/docs']);
    expect(docsPageProblems({ html, csp: res.headers.get('content-security-policy') }, doc)).toEqual([]);
    expect(html).toContain('id="get-things-id"');
  });
});
