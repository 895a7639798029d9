import { ApiError } from '@mosis/shared';
import type { Hono } from 'hono';
import type { Child } from 'hono/jsx';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { RateLimiter } from '../auth/rate-limit.js';
import type { CoreConfig } from '../config.js';
import type { CoreContext, CoreEnv } from '../context.js';
import type { ApiAnswer, ConsoleApi } from './api.js';
import { sameOriginRequest, overTls } from './security.js';
import { COOKIES, csrfMatches, csrfToken, dropCookie, newNonce, putCookie, readCookie, type OperatorSessions } from './session.js';
import type { ConsoleAssets } from './static.js';
import type { View } from './views/layout.js';
import { CONSOLE_PRESESSION_MAX_AGE_S } from '../limits.js';

/** What the console's pages are built from. */
export interface ConsoleDeps {
  api: ConsoleApi;
  assets: ConsoleAssets;
  config: CoreConfig;
  operators: OperatorSessions;
  /** Failed operator sign-ins per client IP. */
  operatorFailures: RateLimiter;
}

/** The console's Hono app, mounted at /console by mountConsole. */
export type ConsoleApp = Hono<CoreEnv>;

/** A page module: registers its routes on the console app. */
export type ConsolePages = (app: ConsoleApp, deps: ConsoleDeps) => void;

/** Renders a page (a full HTML document). */
export async function page(c: CoreContext, node: Child, status: ContentfulStatusCode = 200): Promise<Response> {
  const text = await Promise.resolve(node?.toString() ?? '');
  return c.html(`<!doctype html>${text}`, status);
}

/** Ends the handler with a 303 See Other to `location` (after a form, or when signed out). */
export function redirect(location: string): never {
  throw new HTTPException(303, { res: new Response(null, { status: 303, headers: { Location: location } }) });
}

/** A refused form or script request: not from our pages (CSRF), shown as a page, never acted on. */
export class Refused extends ApiError {
  constructor(message: string) {
    super(403, 'csrf_failed', message);
  }
}

export const secure = (c: CoreContext, d: ConsoleDeps) => overTls(c, d.config.TRUST_PROXY);

/** Form fields: single values as strings, repeated ones (checkboxes) as arrays. Files are not accepted. */
export type FormFields = Record<string, string | string[]>;

/** Throws Refused unless the request comes from our own origin and carries `secret`'s CSRF token. */
export function checkOrigin(c: CoreContext, d: ConsoleDeps): void {
  if (!sameOriginRequest(c, d.config.TRUST_PROXY, d.config.PUBLIC_URL)) {
    throw new Refused('This request came from another site, so the console refused it. Use the console\'s own pages.');
  }
}

/**
 * Reads a console form (POST, urlencoded) after checking where it came from and its CSRF token against
 * `secret` (the session token, operator session or pre-session nonce). Anything else is Refused.
 */
export async function readForm(c: CoreContext, d: ConsoleDeps, secret: string | undefined): Promise<FormFields> {
  checkOrigin(c, d);
  const type = c.req.header('content-type') ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) throw new ApiError(415, 'unsupported_media_type', 'console forms are sent as application/x-www-form-urlencoded');
  const params = new URLSearchParams(await c.req.text());
  if (!csrfMatches(params.get('_csrf') ?? undefined, secret)) {
    throw new Refused('This form has expired or was not sent from the console. Reload the page and try again.');
  }
  const fields: FormFields = {};
  for (const [k, v] of params) {
    if (k === '_csrf') continue;
    const have = fields[k];
    fields[k] = have === undefined ? v : Array.isArray(have) ? [...have, v] : [have, v];
  }
  return fields;
}

/** One form field as a string ('' when missing; the first when repeated). */
export function field(f: FormFields, name: string): string {
  const v = f[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

/** A repeated form field (checkboxes) as a list. */
export function fields(f: FormFields, name: string): string[] {
  const v = f[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** A signed-in developer: their session token, who they are, and the page context. */
export interface Developer {
  token: string;
  view: View & { developer: { id: string; name: string; email: string } };
}

/**
 * The signed-in developer, checked with GET /v1/me; without a valid session, off to the sign-in page (an
 * expired or revoked session's cookie is dropped on the way).
 */
export async function developer(c: CoreContext, d: ConsoleDeps): Promise<Developer> {
  const token = readCookie(c, COOKIES.session);
  if (!token) redirect('/console/sign-in');
  const me = await d.api.call(c, 'GET', '/v1/me', { bearer: token });
  if (me.status === 401) {
    dropCookie(c, COOKIES.session, secure(c, d));
    const res = c.newResponse(null, 303, { Location: '/console/sign-in' });
    throw new HTTPException(303, { res });
  }
  if (!me.ok) throw new ApiError(502, 'api_failed', `the API answered ${me.status} for the signed-in developer`);
  return { token, view: { assets: d.assets, csrf: csrfToken(token), developer: { id: me.body.id, name: me.body.name, email: me.body.email } } };
}

/** The pre-session nonce behind the sign-in and sign-up forms' CSRF token, set as a cookie when missing. */
export function preSession(c: CoreContext, d: ConsoleDeps): string {
  const have = readCookie(c, COOKIES.preSession);
  if (have) return have;
  const nonce = newNonce();
  putCookie(c, COOKIES.preSession, nonce, secure(c, d), CONSOLE_PRESESSION_MAX_AGE_S);
  return nonce;
}

/** Throws an ApiError carrying the API's own status and message, for answers a page cannot do without. */
export function must(answer: ApiAnswer): ApiAnswer {
  if (answer.ok) return answer;
  const err = answer.body?.error;
  throw new ApiError(
    (answer.status >= 400 && answer.status < 600 ? answer.status : 502) as ContentfulStatusCode,
    typeof err?.code === 'string' ? err.code : 'api_failed',
    typeof err?.message === 'string' ? err.message : `the API answered ${answer.status}`,
  );
}

/** Query text of a URL, e.g. qs({cursor, limit}) → "?cursor=..&limit=.." (undefined and '' values left out). */
export function qs(params: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;
