import { docsPageProblems } from '@mosis/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIngest, type TestIngest } from '../testing.js';

let t: TestIngest;
beforeAll(async () => {
  t = await startTestIngest({ apps: [{ packageId: 'com.dev.app' }] });
});
afterAll(() => t.stop());

async function get(path: string) {
  const res = await t.app.request(path);
  return { res, text: await res.text() };
}

describe('GET /docs (ingest)', () => {
  it('serves a reference of every operation of /openapi.json, with working anchors and a strict policy', async () => {
    const { res, text: html } = await get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const doc = JSON.parse((await get('/openapi.json')).text);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/events', '/v1/crashes', '/healthz', '/docs']));
    expect(docsPageProblems({ html, csp: res.headers.get('content-security-policy') }, doc)).toEqual([]);
  });
});
