import { ApiError, type DB } from '@mosis/shared';
import type { MiddlewareHandler } from 'hono';
import type { Caller, CoreEnv } from '../context.js';
import { KEY_LAST_USED_RESOLUTION_MS } from '../limits.js';
import { apiKeyByHash, touchApiKey } from '../store/api-keys.js';
import { jsonArray, nowIso } from '../store/prepare.js';
import { deleteSession, sessionByHash } from '../store/sessions.js';
import { PERMISSIONS, type Permission } from './permissions.js';
import { API_KEY_PREFIX, sameDigest, SESSION_PREFIX, sha256Hex } from './tokens.js';

/** Longer bearer values are not ours: refuse before hashing arbitrary client text. */
const MAX_TOKEN_CHARS = 256;

/** What a route demands: any valid caller, an API key permission (sessions have all), or a login session. */
export type Requirement = Permission | 'any' | 'session';

function unauthorized(message: string): ApiError {
  // RFC 6750 §3: a 401 for a bearer-protected resource names the scheme.
  return new ApiError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer' });
}

/** Reads `Authorization: Bearer <token>` (scheme case-insensitive, RFC 7235 §2.1). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^\s*bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

/**
 * Resolves a bearer token to its caller, or throws 401. Session tokens and API keys are looked up by their
 * SHA-256 (unique index); an API key's `last_used_at` is written at most once per KEY_LAST_USED_RESOLUTION_MS.
 */
export function authenticate(db: DB, token: string | undefined, now = Date.now()): Caller {
  if (!token) throw unauthorized('missing bearer token');
  if (token.length > MAX_TOKEN_CHARS) throw unauthorized('invalid token');
  const hash = sha256Hex(token);
  if (token.startsWith(API_KEY_PREFIX)) {
    const key = apiKeyByHash(db, hash);
    if (!key || !sameDigest(key.key_hash, hash) || key.revoked_at) throw unauthorized('invalid token');
    if (key.expires_at && Date.parse(key.expires_at) <= now) throw unauthorized('API key expired');
    const staleBefore = nowIso(now - KEY_LAST_USED_RESOLUTION_MS);
    if (!key.last_used_at || key.last_used_at < staleBefore) touchApiKey(db, key.id, nowIso(now), staleBefore);
    const permissions = jsonArray(key.permissions).filter((p): p is Permission => (PERMISSIONS as readonly string[]).includes(p));
    return { developerId: key.developer_id, kind: 'api_key', credentialId: key.id, permissions, keyExpiresAt: key.expires_at };
  }
  if (token.startsWith(SESSION_PREFIX)) {
    const session = sessionByHash(db, hash);
    if (!session || !sameDigest(session.token_hash, hash)) throw unauthorized('invalid token');
    if (Date.parse(session.expires_at) <= now) {
      deleteSession(db, session.id);
      throw unauthorized('session expired');
    }
    return { developerId: session.developer_id, kind: 'session', credentialId: session.id, permissions: PERMISSIONS, keyExpiresAt: null };
  }
  throw unauthorized('invalid token');
}

/** Throws 403 unless `who` meets `need`. */
export function authorize(who: Caller, need: Requirement): void {
  if (need === 'any') return;
  if (need === 'session') {
    if (who.kind !== 'session') throw ApiError.forbidden('this route needs a login session, not an API key');
    return;
  }
  if (!who.permissions.includes(need)) throw ApiError.forbidden(`API key lacks the ${need} permission`);
}

/**
 * Route middleware: authenticates the bearer token (session or API key) against portal.db, checks `need`,
 * and puts the caller on the context (read it with `caller(c)` from context.ts).
 *
 *   app.openapi(createRoute({ ..., middleware: [requireAuth(deps.portal, 'analytics:read')] }), handler)
 *
 * No token, an unknown, revoked or expired one: 401 `unauthorized`. A key without the permission: 403.
 */
export function requireAuth(db: DB, need: Requirement = 'any'): MiddlewareHandler<CoreEnv> {
  return async (c, next) => {
    const who = authenticate(db, bearerToken(c.req.header('authorization')));
    authorize(who, need);
    c.set('caller', who);
    await next();
  };
}
