import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../test-app.js';
import { CONSOLE_CSP } from './security.js';
import { pageText, TestBrowser } from './testing.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const appCount = (developerEmail: string) =>
  (t.portal.prepare('SELECT count(*) AS n FROM apps JOIN developers d ON d.id = apps.developer_id WHERE d.email = ?').get(developerEmail) as { n: number }).n;

describe('console entry', () => {
  it('GET / redirects to /console/, which leads to sign-in or, signed in, the apps', async () => {
    const b = new TestBrowser(t.app);
    expect((await b.get('/')).location).toBe('/console/');
    expect((await b.get('/console/')).location).toBe('/console/sign-in');
    expect((await b.get('/console')).location).toBe('/console/sign-in');
    await b.signUp();
    expect((await b.get('/console/')).location).toBe('/console/apps');
    // Signed out, a page sends you to sign in rather than failing.
    expect((await new TestBrowser(t.app).get('/console/keys')).location).toBe('/console/sign-in');
  });

  it.each(['/console/sign-in', '/console/apps', '/console/keys', '/console/signing-keys', '/console/audit', '/console/no-such-page'])(
    '%s has the strict security headers',
    async (path) => {
      const b = new TestBrowser(t.app);
      await b.signUp();
      const res = await b.get(path);
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(CONSOLE_CSP).toContain("script-src 'self'");
      expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('same-origin');
      expect(res.headers.get('cache-control')).toBe('no-store');
      // No inline script or style anywhere: every <script> has a src, no style attributes or elements.
      expect(res.text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(res.text).not.toMatch(/\sstyle=|<style/);
    },
  );
});

describe('session cookie', () => {
  it('is HttpOnly, SameSite=Strict, Path=/console, not Secure over plain HTTP; the device token has its own cookie', async () => {
    const b = new TestBrowser(t.app);
    await b.get('/console/sign-up');
    const res = await b.post('/console/sign-up', { email: `c-${Date.now()}@example.com`, name: 'C', password: 'correct horse battery' });
    expect(res.status).toBe(303);
    const session = res.setCookies.find((c) => c.startsWith('mosis_session='))!;
    const device = res.setCookies.find((c) => c.startsWith('mosis_device='))!;
    for (const cookie of [session, device]) {
      expect(cookie).toMatch(/; HttpOnly/);
      expect(cookie).toMatch(/; SameSite=Strict/);
      expect(cookie).toMatch(/; Path=\/console(;|$)/);
      expect(cookie).not.toMatch(/; Secure/);
    }
    expect(b.cookies.get('mosis_session')).toMatch(/^ms_/);
    expect(b.cookies.get('mosis_device')).toMatch(/^md_/);
  });

  it.each([
    { name: 'TLS at a trusted proxy', trust: true, proto: 'https', secure: true },
    { name: 'X-Forwarded-Proto without TRUST_PROXY', trust: false, proto: 'https', secure: false },
    { name: 'plain HTTP at a trusted proxy', trust: true, proto: 'http', secure: false },
  ])('is Secure exactly when the browser used TLS: $name', async ({ trust, proto, secure }) => {
    const app = await createTestApp({ config: { TRUST_PROXY: trust } });
    try {
      // The proxy speaks plain HTTP to us; the browser's origin has the scheme it used.
      const b = new TestBrowser(app.app, 'http://portal.example');
      await b.get('/console/sign-in', { 'x-forwarded-proto': proto });
      const res = await b.post('/console/sign-up', { email: `s-${Date.now()}@example.com`, name: 'S', password: 'correct horse battery' }, { 'x-forwarded-proto': proto, origin: `${proto}://portal.example` });
      expect(res.status).toBe(303);
      const session = res.setCookies.find((c) => c.startsWith('mosis_session='))!;
      expect(/; Secure/.test(session)).toBe(secure);
    } finally {
      app.close();
    }
  });

  it('sends the device token back at the next sign-in (the API keeps it: a known device)', async () => {
    const b = new TestBrowser(t.app);
    const email = await b.signUp();
    const device = b.cookies.get('mosis_device');
    await b.post('/console/sign-out', {});
    expect(b.cookies.has('mosis_session')).toBe(false);
    expect(b.cookies.get('mosis_device')).toBe(device);
    await b.get('/console/sign-in');
    const res = await b.post('/console/sign-in', { email, password: 'correct horse battery' });
    expect(res.status).toBe(303);
    // A login without a (valid) device token is given a new one; with it, the same token stays.
    expect(b.cookies.get('mosis_device')).toBe(device);
    const fresh = new TestBrowser(t.app);
    await fresh.get('/console/sign-in');
    await fresh.post('/console/sign-in', { email, password: 'correct horse battery' });
    expect(fresh.cookies.get('mosis_device')).toMatch(/^md_/);
    expect(fresh.cookies.get('mosis_device')).not.toBe(device);
  });

  it('signing out ends the session on the server', async () => {
    const b = new TestBrowser(t.app);
    await b.signUp();
    const token = b.cookies.get('mosis_session')!;
    expect((await t.call('GET', '/v1/me', { token })).status).toBe(200);
    await b.post('/console/sign-out', {});
    expect((await t.call('GET', '/v1/me', { token })).status).toBe(401);
  });

  it('a wrong password is said in words, with the status of the API', async () => {
    const b = new TestBrowser(t.app);
    const email = await b.signUp();
    await b.post('/console/sign-out', {});
    await b.get('/console/sign-in');
    const res = await b.post('/console/sign-in', { email, password: 'not the password' });
    expect(res.status).toBe(401);
    expect(pageText(res.text)).toContain('wrong email or password');
  });

  it('the JSON API does not accept the console cookie: /v1 stays bearer-only', async () => {
    const b = new TestBrowser(t.app);
    await b.signUp();
    const token = b.cookies.get('mosis_session')!;
    const res = await t.app.request('/v1/me', { headers: { cookie: `mosis_session=${token}` } });
    expect(res.status).toBe(401);
  });
});

describe('CSRF', () => {
  it.each([
    { name: 'no token', fields: { _csrf: '' }, headers: {} },
    { name: 'a wrong token', fields: { _csrf: 'x'.repeat(43) }, headers: {} },
    { name: "another session's token", fields: { _csrf: 'OTHER' }, headers: {} },
    { name: 'the right token from another site (Sec-Fetch-Site)', fields: {}, headers: { 'sec-fetch-site': 'cross-site' } },
    { name: 'the right token from another origin (Origin, no Fetch Metadata)', fields: {}, headers: { 'sec-fetch-site': '', origin: 'http://evil.example' } },
    { name: 'a same-site but other origin page', fields: {}, headers: { 'sec-fetch-site': 'same-site' } },
  ] as { name: string; fields: { _csrf?: string }; headers: Record<string, string> }[])('a form post with $name is refused (403) and changes nothing', async ({ fields, headers }) => {
    const b = new TestBrowser(t.app);
    const email = await b.signUp();
    let csrf = fields._csrf;
    if (csrf === 'OTHER') {
      const other = new TestBrowser(t.app);
      await other.signUp();
      csrf = other.csrf;
    }
    const send = { package_id: `com.csrf.a${Date.now()}`, name: 'Evil', ...(csrf !== undefined && { _csrf: csrf }) };
    const res = await b.post('/console/apps', send, headers);
    expect(res.status).toBe(403);
    expect(pageText(res.text)).toMatch(/refused|expired/);
    expect(appCount(email)).toBe(0);
  });

  it('the same form from our own page is accepted', async () => {
    const b = new TestBrowser(t.app);
    const email = await b.signUp();
    const res = await b.post('/console/apps', { package_id: `com.csrf.ok${Date.now()}`, name: 'Fine' });
    expect(res.status).toBe(303);
    expect(appCount(email)).toBe(1);
  });

  it('sign-in and sign-up forms carry a token too (from a pre-session cookie): a login CSRF is refused', async () => {
    const b = new TestBrowser(t.app);
    const res = await b.post('/console/sign-up', { _csrf: 'guess', email: `l-${Date.now()}@example.com`, name: 'L', password: 'correct horse battery' });
    expect(res.status).toBe(403);
    expect(b.cookies.has('mosis_session')).toBe(false);
  });
});

describe('JSON proxy for the console scripts', () => {
  it.each([
    { name: 'without the CSRF header', headers: { 'x-csrf-token': '' }, status: 403 },
    { name: 'from another site', headers: { 'sec-fetch-site': 'cross-site' }, status: 403 },
    { name: 'with the header, same origin', headers: {}, status: 200 },
  ] as { name: string; headers: Record<string, string>; status: number }[])('GET /console/api/v1/apps $name: $status', async ({ headers, status }) => {
    const b = new TestBrowser(t.app);
    await b.signUp();
    const res = await b.api('GET', '/v1/apps', { headers });
    expect(res.status).toBe(status);
    const body = JSON.parse(res.text);
    if (status === 200) expect(body).toEqual({ items: [], next_cursor: null });
    else expect(body.error.code).toBe('csrf_failed');
  });

  it('answers 401 in the contract body without a session, and does not pass on auth or admin routes', async () => {
    const anon = new TestBrowser(t.app);
    const res = await anon.api('GET', '/v1/apps');
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text).error.code).toBe('unauthorized');
    const b = new TestBrowser(t.app);
    await b.signUp();
    for (const path of ['/v1/auth/logout', '/v1/admin/versions', '/v1/%61dmin/versions', '/v1/%61uth/logout']) {
      const r = await b.api(path.includes('logout') ? 'POST' : 'GET', path);
      expect(r.status).toBe(404);
    }
    expect((await t.call('GET', '/v1/me', { token: b.cookies.get('mosis_session')! })).status).toBe(200);
  });

  it("passes the API's errors on unchanged", async () => {
    const b = new TestBrowser(t.app);
    await b.signUp();
    const res = await b.api('GET', '/v1/apps/nope');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text)).toEqual({ error: { code: 'not_found', message: 'app not found' } });
  });
});

describe('static files', () => {
  it('are addressed by build id: immutable, ETag and 304, gzip when accepted; unknown names 404', async () => {
    const b = new TestBrowser(t.app);
    const page = await b.get('/console/sign-in');
    const css = /href="(\/console\/static\/[0-9a-f]+\/console\.css)"/.exec(page.text)![1]!;
    const plain = await t.app.request(css);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('x-content-type-options')).toBe('nosniff');
    const etag = plain.headers.get('etag')!;
    const text = await plain.text();
    expect(text).toContain(':focus-visible');
    const zipped = await t.app.request(css, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(Number(zipped.headers.get('content-length'))).toBeLessThan(text.length);
    const again = await t.app.request(css, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const uplot = await t.app.request(css.replace('console.css', 'vendor/uPlot.iife.min.js'));
    expect(uplot.status).toBe(200);
    expect(uplot.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const stale = await t.app.request(css.replace(/static\/[0-9a-f]+\//, 'static/000000000000/'));
    expect(stale.headers.get('cache-control')).toBe('no-cache');
    for (const bad of ['../../package.json', 'vendor/../../package.json', 'nope.js']) {
      expect((await t.app.request(css.replace('console.css', bad))).status).toBe(404);
    }
  });
});
