import { docsPageProblems, escapeHtml } from '@mosis/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/** Every method + path the app actually routes (Hono's `:id` turned into OpenAPI's `{id}`). */
function routedOperations(): string[] {
  const ops = t.app.routes
    // Middleware is registered as ALL; /openapi.json is the document itself; the web console (GET /, /console)
    // serves pages for people, not API operations.
    .filter((r) => r.method !== 'ALL' && r.path !== '/openapi.json' && r.path !== '/' && !r.path.startsWith('/console'))
    .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
  return [...new Set(ops)].sort();
}

describe('/openapi.json', () => {
  it('describes every route the app serves, with a bearer security scheme', async () => {
    const res = await t.call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    const documented = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`)).sort();
    expect(routedOperations().length).toBeGreaterThan(25);
    expect(documented).toEqual(expect.arrayContaining(routedOperations()));
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const path of ['/v1/auth/register', '/v1/apps', '/v1/apps/{id}/versions/{code}/submit', '/v1/catalog/apps', '/v1/audit-logs', '/v1/admin/versions']) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(doc.paths['/v1/apps'].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/v1/catalog/apps'].get.security).toBeUndefined();
    expect(doc.paths['/v1/apps'].post.requestBody.content['application/json'].schema).toBeDefined();
  });
});

/** The HTML of one operation's section. */
function section(html: string, id: string): string {
  const start = html.indexOf(`<section class="op" id="${id}">`);
  expect(start, id).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</section>', start));
}

const shown = (value: unknown) => `<pre><code>${escapeHtml(JSON.stringify(value, null, 2))}</code></pre>`;

describe('/docs', () => {
  it('renders every operation of /openapi.json with working, space-free anchors, under a strict policy', async () => {
    const res = await t.call('GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const doc = (await t.call('GET', '/openapi.json')).body;
    expect(docsPageProblems({ html: res.text, csp: res.headers.get('content-security-policy') }, doc)).toEqual([]);
    expect(res.text).toContain('id="tag-api-keys"');
    const createApp = section(res.text, 'post-v1-apps');
    expect(createApp).toContain('<code>package_id</code>'); // request fields inline, not only a link
    expect(createApp).toContain('<code>409</code>');
    expect(res.text).toContain('id="schema-App"');
    expect(res.text).toContain('<code>limit</code>');
  });

  it.each([
    ['post-v1-auth-register', 'RegisterRequest', 'Session'],
    ['post-v1-auth-login', 'LoginRequest', 'Session'],
    ['post-v1-apps', 'CreateAppRequest', 'AppDetail'],
    ['post-v1-apps-id-versions', 'CreateVersionRequest', 'Version'],
    ['post-v1-api-keys', 'CreateApiKeyRequest', 'NewApiKey'],
  ])('shows %s with the written examples of %s and its answer %s', async (id, request, response) => {
    const doc = (await t.call('GET', '/openapi.json')).body;
    const html = section((await t.call('GET', '/docs')).text, id);
    for (const name of [request, response]) {
      const example = doc.components.schemas[name].example;
      expect(example, name).toBeDefined();
      expect(html, name).toContain(shown(example));
    }
  });

  it.each([
    ['get-v1-apps-id-events', 'EventsPage'],
    ['get-v1-apps-id-analytics-daily', 'DailySeries'],
    ['get-v1-apps-id-analytics-active-devices', 'ActiveDevices'],
    ['get-v1-apps-id-analytics-breakdown', 'Breakdown'],
    ['get-v1-apps-id-analytics-summary', 'Summary'],
  ])('shows %s with an example answer (%s) and its parameters', async (id, schema) => {
    const doc = (await t.call('GET', '/openapi.json')).body;
    const html = section((await t.call('GET', '/docs')).text, id);
    expect(doc.components.schemas[schema].example, schema).toBeDefined();
    expect(html).toContain('response <code>200</code> example');
    expect(html).toContain('<code>from</code>');
    expect(html).toContain('<code>400</code>');
  });

  it('documents the CSV answer of the series endpoints and the tail of /events', async () => {
    const doc = (await t.call('GET', '/openapi.json')).body;
    for (const path of ['/v1/apps/{id}/analytics/daily', '/v1/apps/{id}/analytics/active-devices']) {
      expect(Object.keys(doc.paths[path].get.responses['200'].content)).toEqual(['application/json', 'text/csv; charset=utf-8']);
    }
    const events = section((await t.call('GET', '/docs')).text, 'get-v1-apps-id-events');
    expect(events).toContain('<code>after</code>');
    expect(events).toContain('<code>device_id</code>');
  });

  it('documents a register example the API accepts, answered in the documented shape', async () => {
    const doc = (await t.call('GET', '/openapi.json')).body;
    const res = await t.call('POST', '/v1/auth/register', { body: doc.components.schemas.RegisterRequest.example });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(Object.keys(doc.components.schemas.Session.example).sort());
  });
});
