import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '@mosis/shared';
import { audit } from '../audit.js';
import { requireAuth } from '../auth/middleware.js';
import { passwordHasher } from '../auth/password.js';
import { hitAll, RateLimiter } from '../auth/rate-limit.js';
import { newDeviceToken, newSessionToken, sha256Hex } from '../auth/tokens.js';
import { caller, type CoreApp, type CoreContext, type CoreDeps } from '../context.js';
import {
  DEFAULT_TUNING,
  LOGIN_DEVICE_TTL_MS,
  LOGIN_MAX_PER_DEVICE,
  LOGIN_MAX_PER_EMAIL,
  LOGIN_MAX_PER_EMAIL_AND_IP,
  LOGIN_MAX_PER_IP,
  LOGIN_WINDOW_MS,
  MAX_LOGIN_DEVICES_PER_DEVELOPER,
  SESSION_TTL_MS,
} from '../limits.js';
import { BEARER, errorResponses, jsonBody, jsonResponse } from '../openapi.js';
import { DisplayNameSchema, EmailSchema, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, SessionSchema } from '../schemas.js';
import { developerByEmail, insertDeveloper, publicDeveloper, type DeveloperRow } from '../store/developers.js';
import { nowIso } from '../store/prepare.js';
import { insertLoginDevice, loginDevice, touchLoginDevice, type LoginDeviceRow } from '../store/login-devices.js';
import { deleteExpiredSessions, deleteSession, insertSession } from '../store/sessions.js';

const RegisterBody = z
  .object({
    email: EmailSchema,
    name: DisplayNameSchema,
    password: z.string().min(MIN_PASSWORD_CHARS).max(MAX_PASSWORD_CHARS),
  })
  .openapi('RegisterRequest', { example: { email: 'ada@example.com', name: 'Ada Lovelace', password: 'a long passphrase' } });

const LoginBody = z
  .object({
    email: z.string().max(254),
    password: z.string().max(MAX_PASSWORD_CHARS),
    device_token: z
      .string()
      .max(256)
      .optional()
      .openapi({ description: 'the `device_token` of an earlier login from this client: its attempts are then limited per device only' }),
  })
  .openapi('LoginRequest', { example: { email: 'ada@example.com', password: 'a long passphrase' } });

const registerRoute = createRoute({
  method: 'post',
  path: '/v1/auth/register',
  tags: ['accounts'],
  summary: 'Create a developer account and log in',
  description: 'Answers the new developer and a session token. Limited per client IP.',
  request: { body: jsonBody(RegisterBody) },
  responses: {
    201: jsonResponse(SessionSchema, 'account created, logged in'),
    ...errorResponses(400, 409, 413, 415, 429),
  },
});

const loginRoute = createRoute({
  method: 'post',
  path: '/v1/auth/login',
  tags: ['accounts'],
  summary: 'Log in with email and password',
  description:
    'An unknown email and a wrong password answer the same 401. With the `device_token` of an earlier login of this ' +
    `account, failures are limited per device (${LOGIN_MAX_PER_DEVICE} per ${LOGIN_WINDOW_MS / 60_000} minutes) and nobody else's ` +
    `failures count. Without one: ${LOGIN_MAX_PER_EMAIL_AND_IP} per email and client IP and ${LOGIN_MAX_PER_IP} per IP per ` +
    `${LOGIN_WINDOW_MS / 60_000} minutes, and ${LOGIN_MAX_PER_EMAIL} per email per hour from all IPs together; over a limit the ` +
    'answer is 429 and the password is not checked.',
  request: { body: jsonBody(LoginBody) },
  responses: {
    200: jsonResponse(SessionSchema, 'logged in'),
    ...errorResponses(400, 401, 413, 415, 429),
  },
});

const logoutRoute = (db: CoreDeps['portal']) =>
  createRoute({
  middleware: [requireAuth(db, 'session')] as const,
  method: 'post',
  path: '/v1/auth/logout',
  tags: ['accounts'],
  summary: 'End the current session',
  description: 'Needs a session token (an API key is revoked with DELETE /v1/api-keys/{id} instead).',
  security: BEARER,
  responses: { 204: { description: 'session ended' }, ...errorResponses(401, 403) },
});

/** Accounts and sessions: register, login, logout. */
export function register(app: CoreApp, deps: CoreDeps): void {
  const db = deps.portal;
  const tuning = { ...DEFAULT_TUNING, ...deps.tuning };
  const loginByEmail = new RateLimiter(tuning.loginMaxPerEmail, tuning.loginEmailWindowMs);
  const loginByEmailAndIp = new RateLimiter(tuning.loginMaxPerEmailAndIp, tuning.loginWindowMs);
  const loginByIp = new RateLimiter(tuning.loginMaxPerIp, tuning.loginWindowMs);
  const loginByDevice = new RateLimiter(tuning.loginMaxPerDevice, tuning.loginWindowMs);
  const registerByIp = new RateLimiter(tuning.registerMaxPerIp, tuning.registerWindowMs);
  const passwords = passwordHasher(tuning.scrypt);

  /**
   * Starts a session for `dev` and returns the response body (the tokens appear only here). The client's
   * device token is kept (`device`: it presented a valid one) or a new one is given out.
   */
  const startSession = (c: CoreContext, dev: DeveloperRow, device?: { row: LoginDeviceRow; token: string }) => {
    const now = Date.now();
    const { token, hash } = newSessionToken();
    const expiresAt = nowIso(now + SESSION_TTL_MS);
    insertSession(db, dev.id, hash, expiresAt, c.get('client'));
    let deviceToken = device?.token;
    if (device) {
      touchLoginDevice(db, device.row.seq, nowIso(now));
    } else {
      const fresh = newDeviceToken();
      insertLoginDevice(db, dev.id, fresh.hash, nowIso(now), MAX_LOGIN_DEVICES_PER_DEVELOPER, nowIso(now - LOGIN_DEVICE_TTL_MS));
      deviceToken = fresh.token;
    }
    return { developer: publicDeveloper(dev), token, expires_at: expiresAt, device_token: deviceToken! };
  };

  app.openapi(registerRoute, async (c) => {
    const body = c.req.valid('json');
    registerByIp.hit(c.get('client').ip ?? 'unknown');
    const hash = await passwords.hash(body.password);
    const result = db.transaction(() => {
      const dev = insertDeveloper(db, body.email, body.name, hash);
      if (!dev) return undefined;
      audit(c, db, { developerId: dev.id, action: 'developer.registered', resourceType: 'developer', resourceId: dev.id });
      return startSession(c, dev);
    }).immediate();
    if (!result) throw ApiError.conflict('an account with this email already exists');
    return c.json(result, 201);
  });

  app.openapi(loginRoute, async (c) => {
    const body = c.req.valid('json');
    const email = body.email.trim().toLowerCase();
    const ip = c.get('client').ip ?? 'unknown';
    const dev = developerByEmail(db, email);
    // A token of another account, an unknown or a stale one counts as none.
    const deviceRow =
      dev && body.device_token
        ? loginDevice(db, dev.id, sha256Hex(body.device_token), nowIso(Date.now() - LOGIN_DEVICE_TTL_MS))
        : undefined;
    const device = deviceRow && body.device_token ? { row: deviceRow, token: body.device_token } : undefined;
    const limits: [RateLimiter, string][] = device
      ? [[loginByDevice, String(device.row.seq)]]
      : [
          [loginByIp, ip],
          [loginByEmail, email],
          [loginByEmailAndIp, `${email}\n${ip}`],
        ];
    // Over a limit this throws 429 before the password is looked at: a refused guess learns nothing.
    hitAll(limits);
    // Runs scrypt even for an unknown email (against a dummy hash): both failures look and take the same.
    const ok = await passwords.verify(body.password, dev?.password_hash);
    if (!dev || !ok) {
      if (dev) audit(c, db, { developerId: dev.id, action: 'session.login_failed', resourceType: 'developer', resourceId: dev.id });
      throw ApiError.unauthorized('wrong email or password');
    }
    // Only failures use up the limits: a legitimate login gives its hits back.
    for (const [limiter, key] of limits) limiter.forgive(key);
    const result = db.transaction(() => {
      deleteExpiredSessions(db, nowIso());
      const session = startSession(c, dev, device);
      audit(c, db, { developerId: dev.id, action: 'session.login', resourceType: 'developer', resourceId: dev.id });
      return session;
    }).immediate();
    return c.json(result, 200);
  });

  app.openapi(logoutRoute(db), (c) => {
    const who = caller(c);
    db.transaction(() => {
      deleteSession(db, who.credentialId);
      audit(c, db, { developerId: who.developerId, action: 'session.logout', resourceType: 'session', resourceId: who.credentialId });
    }).immediate();
    return c.body(null, 204);
  });
}
