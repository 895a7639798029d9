import type { MiddlewareHandler } from 'hono';
import type { CoreContext, CoreEnv } from '../context.js';

/**
 * The console's Content-Security-Policy: scripts and styles only from our own origin (no inline script or
 * style, no eval), data fetches only to ourselves, forms only to ourselves, and no framing (clickjacking).
 * uPlot draws on canvas and sets styles through the CSSOM, which style-src does not restrict.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Headers on every console response (pages, assets, the JSON proxy). */
export function securityHeaders(): MiddlewareHandler<CoreEnv> {
  return async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CONSOLE_CSP);
    c.header('X-Frame-Options', 'DENY');
    c.header('X-Content-Type-Options', 'nosniff');
    // Console URLs hold app ids: other sites need not see them.
    c.header('Referrer-Policy', 'same-origin');
    c.header('Cross-Origin-Opener-Policy', 'same-origin');
    c.header('Cross-Origin-Resource-Policy', 'same-origin');
    // Pages show private data: never kept by a shared cache or the back-forward cache of another user.
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  };
}

/**
 * Whether the browser reached us over TLS: the socket (the URL @hono/node-server builds says https), or,
 * behind a trusted reverse proxy, the last X-Forwarded-Proto (the one the proxy set). Decides Secure cookies.
 */
export function overTls(c: CoreContext, trustProxy: boolean): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  if (!trustProxy) return false;
  const proto = c.req.header('x-forwarded-proto')?.split(',').map((s) => s.trim()).pop();
  return proto?.toLowerCase() === 'https';
}

/** The origin the browser sees for this request: scheme (overTls) and Host. */
export function ownOrigin(c: CoreContext, trustProxy: boolean): string {
  const host = c.req.header('host') ?? new URL(c.req.url).host;
  return `${overTls(c, trustProxy) ? 'https' : 'http'}://${host}`;
}

/**
 * Whether a state-changing request comes from our own pages. Browsers send Sec-Fetch-Site on every request
 * (Fetch Metadata): it must be `same-origin`. Without it, an Origin header must be ours (or PUBLIC_URL's).
 * With neither (an old browser, a script) the CSRF token alone decides; a cross-site browser request always
 * carries one of the two.
 */
export function sameOriginRequest(c: CoreContext, trustProxy: boolean, publicUrl: string | undefined): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin';
  const origin = c.req.header('origin');
  if (origin === undefined) return true;
  return origin === ownOrigin(c, trustProxy) || (publicUrl !== undefined && origin === new URL(publicUrl).origin);
}
