import { ApiError } from '@mosis/shared';
import { checkOrigin, type ConsolePages } from '../context.js';
import { COOKIES, csrfMatches, readCookie } from '../session.js';

/** The console's JSON proxy: /console/api/v1/... → /v1/... */
export const PROXY_PREFIX = '/console/api';
/** Routes the proxy does not pass on: sign-in and sign-out are the console's forms, /v1/admin takes the admin token. */
const NOT_PROXIED = /^\/v1\/(auth|admin)(\/|$)/;

/**
 * The JSON API for the console's own scripts (charts, the live view, package uploads with progress): the
 * session cookie plus the CSRF token in an `X-CSRF-Token` header, from our own origin, becomes the bearer
 * of a real /v1 request in process. Every method needs the token, reads too: another site can make a
 * browser send a request, not add a header to it. /v1 itself never looks at cookies.
 */
export const register: ConsolePages = (app, d) => {
  app.all('/api/v1/*', async (c) => {
    const token = readCookie(c, COOKIES.session);
    if (!token) throw ApiError.unauthorized('You are signed out: sign in to the console again.');
    checkOrigin(c, d);
    if (!csrfMatches(c.req.header('x-csrf-token'), token)) throw new ApiError(403, 'csrf_failed', 'The page is out of date (its form token does not match): reload it.');
    const path = c.req.path.slice(PROXY_PREFIX.length);
    if (NOT_PROXIED.test(path)) throw ApiError.notFound(`no route for ${c.req.method} ${c.req.path}`);
    const res = await d.api.forward(c, path + new URL(c.req.url).search, token);
    const headers = new Headers(res.headers);
    headers.delete('set-cookie');
    return new Response(res.body, { status: res.status, headers });
  });
};
