import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { CoreContext } from '../context.js';
import { CONSOLE_MAX_OPERATOR_SESSIONS, CONSOLE_OPERATOR_SESSION_TTL_MS } from '../limits.js';

/**
 * The console's cookies. All are HttpOnly (page scripts never read them), SameSite=Strict (never sent on a
 * request another site starts), Path=/console (the JSON API under /v1 never receives them: it stays
 * bearer-only), and Secure when the browser reached us over TLS.
 */
export const COOKIES = {
  /** The developer's session token (`ms_…`), as POST /v1/auth/login answered it. */
  session: 'mosis_session',
  /** The login's device token (`md_…`): sent back with the next sign-in, so others' failures never lock this browser out. */
  device: 'mosis_device',
  /** A random nonce before sign-in: the secret behind the CSRF token of the sign-in and sign-up forms. */
  preSession: 'mosis_pre',
  /** An operator's console session (the ADMIN_TOKEN itself never leaves the server). */
  operator: 'mosis_operator',
} as const;

export const CONSOLE_PATH = '/console';

/** Sets an HttpOnly, SameSite=Strict cookie under /console; `maxAgeS` undefined: a browser-session cookie. */
export function putCookie(c: CoreContext, name: string, value: string, secure: boolean, maxAgeS?: number): void {
  setCookie(c, name, value, { path: CONSOLE_PATH, httpOnly: true, sameSite: 'Strict', secure, ...(maxAgeS !== undefined && { maxAge: Math.max(0, Math.floor(maxAgeS)) }) });
}

export function dropCookie(c: CoreContext, name: string, secure: boolean): void {
  deleteCookie(c, name, { path: CONSOLE_PATH, httpOnly: true, sameSite: 'Strict', secure });
}

export function readCookie(c: CoreContext, name: string): string | undefined {
  const v = getCookie(c, name);
  // Ours are base64url tokens well under this; anything else is not ours.
  return v && v.length <= 256 ? v : undefined;
}

/** A fresh random nonce for the pre-session cookie (or an operator session). */
export function newNonce(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The CSRF token that goes with a cookie secret: HMAC-SHA256 keyed by the secret. Another site can neither
 * read the cookie (HttpOnly, and the same-origin policy) nor, without it, compute the token; the token
 * reveals nothing of the secret. Deriving it (rather than storing one) keeps it valid across restarts.
 */
export function csrfToken(secret: string): string {
  return createHmac('sha256', secret).update('mosis-console-csrf-v1').digest('base64url');
}

/** Whether `given` is the CSRF token of `secret`, compared in constant time (over digests: equal lengths). */
export function csrfMatches(given: string | undefined, secret: string | undefined): boolean {
  if (!given || !secret) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(csrfToken(secret)).digest();
  return timingSafeEqual(a, b);
}

/**
 * Operator console sessions, in memory: a restart signs operators out, which is the safe direction. Tokens
 * are kept as SHA-256, at most CONSOLE_MAX_OPERATOR_SESSIONS at once (the oldest goes first).
 */
export class OperatorSessions {
  private readonly sessions = new Map<string, number>();

  constructor(
    private readonly ttlMs = CONSOLE_OPERATOR_SESSION_TTL_MS,
    private readonly max = CONSOLE_MAX_OPERATOR_SESSIONS,
    private readonly now: () => number = Date.now,
  ) {}

  start(): string {
    const token = newNonce();
    for (const [key, expires] of this.sessions) if (expires <= this.now()) this.sessions.delete(key);
    while (this.sessions.size >= this.max) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(digest(token), this.now() + this.ttlMs);
    return token;
  }

  valid(token: string | undefined): boolean {
    if (!token) return false;
    const expires = this.sessions.get(digest(token));
    return expires !== undefined && expires > this.now();
  }

  end(token: string | undefined): void {
    if (token) this.sessions.delete(digest(token));
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
