import { docsPageProblems, escapeHtml } from '@mosis/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIngest, type TestIngest } from '../testing.js';

/** The contract's examples, as API.md writes them. */
const API_MD_EVENTS = {
  sent_at: '2026-11-28T10:00:05.000Z',
  events: [
    {
      event_id: '0193f1c2-6c1e-7a53-9d1e-2b7f5a0c4e11',
      app: 'com.dev.app',
      device_id: 'raw device identifier',
      event_type: 'app_open',
      timestamp: '2026-11-28T10:00:00.000Z',
      mosis_version: '1.4.2',
      data: { screen: 'home' },
    },
  ],
};
const API_MD_202 = { accepted: 998, duplicates: 1, rejected: [{ index: 3, reason: 'unknown_app' }] };

let t: TestIngest;
// The examples are dated 2026-11-28: the service's clock is set to when API.md's device sent its batch.
beforeAll(async () => {
  t = await startTestIngest({ apps: [{ packageId: 'com.dev.app' }], now: () => Date.parse('2026-11-28T10:00:05.000Z') });
});
afterAll(() => t.stop());

async function get(path: string) {
  const res = await t.app.request(path);
  return { res, text: await res.text() };
}

/** The HTML of one operation's section. */
function section(html: string, id: string): string {
  const start = html.indexOf(`<section class="op" id="${id}">`);
  expect(start, id).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</section>', start));
}

const shown = (value: unknown) => `<pre><code>${escapeHtml(JSON.stringify(value, null, 2))}</code></pre>`;

describe('GET /docs (ingest)', () => {
  it('serves a reference of every operation of /openapi.json, with working anchors and a strict policy', async () => {
    const { res, text: html } = await get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const doc = JSON.parse((await get('/openapi.json')).text);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/events', '/v1/crashes', '/healthz', '/docs']));
    expect(docsPageProblems({ html, csp: res.headers.get('content-security-policy') }, doc)).toEqual([]);
  });

  it('shows the events request and its 202 exactly as the contract writes them, and the error format', async () => {
    const { text: html } = await get('/docs');
    const events = section(html, 'post-v1-events');
    expect(events).toContain(shown(API_MD_EVENTS));
    expect(events).toContain(shown(API_MD_202));
    expect(events).toContain('<code>event_type</code>');
    expect(events).toContain('<code>app_version</code>');
    expect(events).toContain('<code>413</code>');
    expect(html).toContain('<h2 id="errors">Errors</h2>');
    expect(section(html, 'post-v1-crashes')).toContain('&quot;crash_type&quot;: &quot;native_signal&quot;');
  });

  it('documents request examples that the service accepts', async () => {
    const doc = JSON.parse((await get('/openapi.json')).text);
    const example = (path: string) => doc.paths[path].post.requestBody.content['application/json'].schema.example;
    expect(example('/v1/events')).toEqual(API_MD_EVENTS);
    for (const [path, kind] of [['/v1/events', 'events'], ['/v1/crashes', 'crashes']] as const) {
      const res = await t.post(path, example(path));
      expect(res.status, path).toBe(202);
      expect(await res.json(), path).toEqual({ accepted: example(path)[kind].length, duplicates: 0, rejected: [] });
    }
  });
});
