import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  LOGIN_MAX_PER_DEVICE,
  LOGIN_MAX_PER_EMAIL,
  LOGIN_MAX_PER_EMAIL_AND_IP,
  LOGIN_MAX_PER_IP,
  LOGIN_WINDOW_MS,
  MAX_LOGIN_DEVICES_PER_DEVELOPER,
  SCRYPT_PARAMS,
} from '../limits.js';
import { createTestApp, type TestApp } from '../test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const password = 'correct horse battery';

describe('POST /v1/auth/register', () => {
  it('creates the account, answers a session token and stores only a scrypt hash', async () => {
    const res = await t.call('POST', '/v1/auth/register', { body: { email: ' Ada@Example.com ', name: 'Ada', password } });
    expect(res.status).toBe(201);
    expect(res.body.developer).toMatchObject({ email: 'ada@example.com', name: 'Ada', verified: false });
    expect(res.body.token).toMatch(/^ms_[\w-]{43}$/);
    expect(res.body.developer.password_hash).toBeUndefined();
    const row = t.portal.prepare('SELECT password_hash FROM developers WHERE email = ?').get('ada@example.com') as { password_hash: string };
    expect(row.password_hash).toMatch(/^scrypt\$/);
    expect(row.password_hash).not.toContain(password);
    const session = t.portal.prepare('SELECT token_hash FROM sessions').get() as { token_hash: string };
    expect(session.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(t.portal.prepare('SELECT * FROM audit_logs').all())).not.toContain(password);
  });

  it('answers 409 conflict for a taken email, whatever its case', async () => {
    const res = await t.call('POST', '/v1/auth/register', { body: { email: 'ADA@example.com', name: 'Other', password } });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
  });

  it.each([
    ['a bad email', { email: 'not-an-email', name: 'X', password }],
    ['a short password', { email: 'x1@example.com', name: 'X', password: 'short' }],
    ['a missing name', { email: 'x2@example.com', password }],
    ['an empty name', { email: 'x3@example.com', name: '   ', password }],
    ['a control character in the name', { email: 'x4@example.com', name: 'a\u0000b', password }],
    ['a password over 256 characters', { email: 'x5@example.com', name: 'X', password: 'p'.repeat(257) }],
    ['an array body', [1, 2]],
  ])('answers 400 invalid_body for %s', async (_name, body) => {
    const res = await t.call('POST', '/v1/auth/register', { body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_body');
  });

  it('answers 400 for malformed JSON, 415 for another content type, 413 for a huge body', async () => {
    const bad = await t.call('POST', '/v1/auth/register', { body: '{"email": ', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_body');
    const form = await t.call('POST', '/v1/auth/register', { body: 'email=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    expect(form.body.error.code).toBe('unsupported_media_type');
    const huge = await t.call('POST', '/v1/auth/register', { body: { email: 'h@example.com', name: 'x'.repeat(70_000), password } });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');
  });
});

describe('POST /v1/auth/login', () => {
  it('logs in with the right password (email in any case) and writes an audit row with IP and user agent', async () => {
    const res = await t.call('POST', '/v1/auth/login', {
      body: { email: 'ADA@example.com', password },
      ip: '203.0.113.9',
      headers: { 'user-agent': 'curl/8.0' },
    });
    expect(res.status).toBe(200);
    expect(res.body.token).toMatch(/^ms_/);
    const me = await t.call('GET', '/v1/me', { token: res.body.token });
    expect(me.status).toBe(200);
    expect(me.body.email).toBe('ada@example.com');
    const row = t.portal.prepare("SELECT ip_address, user_agent FROM audit_logs WHERE action = 'session.login'").get();
    expect(row).toEqual({ ip_address: '203.0.113.9', user_agent: 'curl/8.0' });
  });

  it('answers the same 401 for a wrong password and an unknown email', async () => {
    const wrong = await t.call('POST', '/v1/auth/login', { body: { email: 'ada@example.com', password: 'nope nope nope' } });
    const unknown = await t.call('POST', '/v1/auth/login', { body: { email: 'nobody@example.com', password: 'nope nope nope' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
  });

  it('answers 400 for a body without a password', async () => {
    expect((await t.call('POST', '/v1/auth/login', { body: { email: 'ada@example.com' } })).status).toBe(400);
  });
});

describe('login and register rate limits', () => {
  it('limits failed logins per email from all addresses together with 429 rate_limited and Retry-After', async () => {
    const rl = await createTestApp({ tuning: { loginMaxPerEmail: 3 } });
    try {
      const { email } = await rl.signup('limited@example.com');
      for (let i = 0; i < 3; i++) {
        const res = await rl.call('POST', '/v1/auth/login', { body: { email, password: 'wrong password' }, ip: `10.0.0.${i}` });
        expect(res.status).toBe(401);
      }
      // The right password from yet another address is refused too: the email is what is limited.
      const res = await rl.call('POST', '/v1/auth/login', { body: { email: 'LIMITED@example.com', password }, ip: '10.0.0.99' });
      expect(res.status).toBe(429);
      expect(res.body.error.code).toBe('rate_limited');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another email is unaffected.
      await rl.signup('other@example.com');
      expect((await rl.call('POST', '/v1/auth/login', { body: { email: 'other@example.com', password } })).status).toBe(200);
    } finally {
      rl.close();
    }
  });

  it('limits failed logins per email and address: one address cannot lock the owner out from another', async () => {
    const rl = await createTestApp({ tuning: { loginMaxPerEmailAndIp: 3 } });
    try {
      const { email } = await rl.signup('target@example.com');
      for (let i = 0; i < 3; i++) {
        expect((await rl.call('POST', '/v1/auth/login', { body: { email, password: 'guess' }, ip: '203.0.113.66' })).status).toBe(401);
      }
      const refused = await rl.call('POST', '/v1/auth/login', { body: { email, password }, ip: '203.0.113.66' });
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('rate_limited');
      expect((await rl.call('POST', '/v1/auth/login', { body: { email, password }, ip: '198.51.100.20' })).status).toBe(200);
    } finally {
      rl.close();
    }
  });

  it('counts only failures: successful logins do not use up any limit', async () => {
    const rl = await createTestApp({ tuning: { loginMaxPerEmail: 2, loginMaxPerEmailAndIp: 2, loginMaxPerIp: 2 } });
    try {
      const { email } = await rl.signup('often@example.com');
      for (let i = 0; i < 5; i++) {
        expect((await rl.call('POST', '/v1/auth/login', { body: { email, password }, ip: '192.0.2.50' })).status).toBe(200);
      }
      expect((await rl.call('POST', '/v1/auth/login', { body: { email, password: 'typo' }, ip: '192.0.2.50' })).status).toBe(401);
      expect((await rl.call('POST', '/v1/auth/login', { body: { email, password }, ip: '192.0.2.50' })).status).toBe(200);
    } finally {
      rl.close();
    }
  });

  it('counts attempts that arrive together: a burst cannot slip a guess past the limit while passwords are checked', async () => {
    // Production-strength scrypt: all ten requests arrive while the first password is still being checked.
    const rl = await createTestApp({ tuning: { loginMaxPerEmailAndIp: 3, scrypt: SCRYPT_PARAMS } });
    try {
      const { email } = await rl.signup('burst@example.com');
      const guesses = [...Array(9).fill('guess'), password];
      const burst = await Promise.all(guesses.map((p) => rl.call('POST', '/v1/auth/login', { body: { email, password: p }, ip: '203.0.113.9' })));
      expect(burst.map((r) => r.status)).toEqual([401, 401, 401, ...Array(7).fill(429)]);
    } finally {
      rl.close();
    }
  });

  it('limits login attempts per client IP across emails', async () => {
    const rl = await createTestApp({ tuning: { loginMaxPerIp: 2 } });
    try {
      for (const email of ['a@example.com', 'b@example.com']) {
        expect((await rl.call('POST', '/v1/auth/login', { body: { email, password }, ip: '198.51.100.1' })).status).toBe(401);
      }
      const res = await rl.call('POST', '/v1/auth/login', { body: { email: 'c@example.com', password }, ip: '198.51.100.1' });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBeTruthy();
      expect((await rl.call('POST', '/v1/auth/login', { body: { email: 'c@example.com', password }, ip: '198.51.100.2' })).status).toBe(401);
    } finally {
      rl.close();
    }
  });

  it('limits registrations per client IP', async () => {
    const rl = await createTestApp({ tuning: { registerMaxPerIp: 2 } });
    try {
      for (const email of ['r1@example.com', 'r2@example.com']) {
        expect((await rl.call('POST', '/v1/auth/register', { body: { email, name: 'R', password }, ip: '192.0.2.7' })).status).toBe(201);
      }
      const res = await rl.call('POST', '/v1/auth/register', { body: { email: 'r3@example.com', name: 'R', password }, ip: '192.0.2.7' });
      expect(res.status).toBe(429);
      expect(res.body.error.code).toBe('rate_limited');
    } finally {
      rl.close();
    }
  });

  it('takes the client IP from X-Forwarded-For only with TRUST_PROXY', async () => {
    const rl = await createTestApp({ tuning: { loginMaxPerIp: 1 }, config: { TRUST_PROXY: true } });
    try {
      const from = (xff: string) => rl.call('POST', '/v1/auth/login', { body: { email: `${xff}@example.com`, password }, headers: { 'x-forwarded-for': `1.1.1.1, ${xff}` } });
      expect((await from('9.9.9.1')).status).toBe(401);
      expect((await from('9.9.9.2')).status).toBe(401);
      expect((await from('9.9.9.1')).status).toBe(429);
    } finally {
      rl.close();
    }
  });
});

describe('device tokens: others cannot lock the owner out, guessing stays bounded', () => {
  /** The production login limits (only scrypt is cheap). */
  const PRODUCTION_LIMITS = {
    loginMaxPerEmail: LOGIN_MAX_PER_EMAIL,
    loginMaxPerEmailAndIp: LOGIN_MAX_PER_EMAIL_AND_IP,
    loginMaxPerIp: LOGIN_MAX_PER_IP,
    loginMaxPerDevice: LOGIN_MAX_PER_DEVICE,
  };
  let rl: TestApp;
  beforeAll(async () => {
    rl = await createTestApp({ tuning: PRODUCTION_LIMITS });
  });
  afterAll(() => rl.close());

  const login = (email: string, pw: string, ip: string, device_token?: string) =>
    rl.call('POST', '/v1/auth/login', { body: { email, password: pw, ...(device_token ? { device_token } : {}) }, ip });
  const register = async (email: string) => {
    const res = await rl.call('POST', '/v1/auth/register', { body: { email, name: 'Owner', password } });
    expect(res.status).toBe(201);
    return res.body as { device_token: string; developer: { id: string } };
  };
  /** Failed logins from `ips` addresses, as many from each as the per-(email, IP) limit lets through. */
  const guessFrom = async (email: string, ips: number, prefix: string) => {
    const statuses: number[] = [];
    for (let i = 0; i < ips; i++) {
      for (let g = 0; g < LOGIN_MAX_PER_EMAIL_AND_IP; g++) statuses.push((await login(email, `guess ${i} ${g}`, `${prefix}.${i}`)).status);
    }
    return statuses;
  };

  it('gives out a device token at register and login, stored only as its SHA-256, and keeps it on later logins', async () => {
    const owner = await register('device@example.com');
    expect(owner.device_token).toMatch(/^md_[\w-]{43}$/);
    const hashes = rl.portal.prepare('SELECT token_hash FROM login_devices WHERE developer_id = ?').pluck().all(owner.developer.id);
    expect(hashes).toEqual([createHash('sha256').update(owner.device_token).digest('hex')]);
    const again = await login('device@example.com', password, '192.0.2.1', owner.device_token);
    expect(again.status).toBe(200);
    expect(again.body.device_token).toBe(owner.device_token);
    const fresh = await login('device@example.com', password, '192.0.2.1');
    expect(fresh.body.device_token).toMatch(/^md_/);
    expect(fresh.body.device_token).not.toBe(owner.device_token);
  });

  it('lets the owner in with a device token after 100 failures from 10 addresses; without one the account waits', async () => {
    const owner = await register('owner@example.com');
    const statuses = await guessFrom('owner@example.com', 10, '203.0.113');
    expect(statuses.filter((s) => s === 401)).toHaveLength(100);
    expect((await login('owner@example.com', password, '198.51.100.7')).status).toBe(429);
    const res = await login('owner@example.com', password, '198.51.100.8', owner.device_token);
    expect(res.status).toBe(200);
    expect((await rl.call('GET', '/v1/me', { token: res.body.token })).body.email).toBe('owner@example.com');
  });

  it(`gives a guesser from 50 addresses at most ${LOGIN_MAX_PER_EMAIL} password checks per account per hour; the rest are 429 unchecked`, async () => {
    const victim = await register('victim@example.com');
    const attacker = await register('attacker@example.com');
    const statuses = await guessFrom('victim@example.com', 50, '10.9');
    expect(statuses).toHaveLength(50 * LOGIN_MAX_PER_EMAIL_AND_IP);
    expect(statuses.filter((s) => s === 401)).toHaveLength(LOGIN_MAX_PER_EMAIL);
    expect(statuses.filter((s) => s !== 401).every((s) => s === 429)).toBe(true);
    // Each checked password is one login_failed row: exactly the ceiling, none for the refused ones.
    const checked = rl.portal.prepare("SELECT count(*) FROM audit_logs WHERE action = 'session.login_failed' AND developer_id = ?").pluck().get(victim.developer.id);
    expect(checked).toBe(LOGIN_MAX_PER_EMAIL);
    // Over the ceiling even the right password is refused without a device token of this account: it is not checked.
    for (const token of [undefined, attacker.device_token, 'md_not-a-device-token']) {
      const res = await login('victim@example.com', password, '10.10.0.1', token);
      expect(res.status, String(token)).toBe(429);
      // The ceiling is hourly: the oldest failure leaves it about an hour after it was made.
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(LOGIN_WINDOW_MS / 1000);
      expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(3600);
    }
    expect((await login('victim@example.com', password, '10.10.0.2', victim.device_token)).status).toBe(200);
  });

  it('limits failures per device token, without touching the account ceiling', async () => {
    const owner = await register('typo@example.com');
    for (let i = 0; i < LOGIN_MAX_PER_DEVICE; i++) {
      expect((await login('typo@example.com', 'typo typo', '192.0.2.30', owner.device_token)).status).toBe(401);
    }
    expect((await login('typo@example.com', password, '192.0.2.30', owner.device_token)).status).toBe(429);
    expect((await login('typo@example.com', password, '192.0.2.31')).status).toBe(200);
  });

  it(`keeps at most ${MAX_LOGIN_DEVICES_PER_DEVELOPER} device tokens per developer, dropping the least recently used`, async () => {
    const owner = await register('many@example.com');
    for (let i = 0; i < MAX_LOGIN_DEVICES_PER_DEVELOPER + 5; i++) expect((await login('many@example.com', password, '192.0.2.40')).status).toBe(200);
    const count = rl.portal.prepare('SELECT count(*) FROM login_devices WHERE developer_id = ?').pluck().get(owner.developer.id);
    expect(count).toBe(MAX_LOGIN_DEVICES_PER_DEVELOPER);
    const res = await login('many@example.com', password, '192.0.2.40', owner.device_token);
    expect(res.status).toBe(200);
    expect(res.body.device_token).not.toBe(owner.device_token);
  });
});

describe('sessions', () => {
  it('logout ends the session', async () => {
    const { token } = await t.signup();
    expect((await t.call('GET', '/v1/me', { token })).status).toBe(200);
    expect((await t.call('POST', '/v1/auth/logout', { token })).status).toBe(204);
    const after = await t.call('GET', '/v1/me', { token });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthorized');
  });

  it('an expired session is refused', async () => {
    const { token, id } = await t.signup();
    t.portal.prepare("UPDATE sessions SET expires_at = '2000-01-01T00:00:00.000Z' WHERE developer_id = ?").run(id);
    const res = await t.call('GET', '/v1/me', { token });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/expired/);
  });

  it.each([
    ['no token', {}],
    ['an unknown session token', { authorization: 'Bearer ms_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
    ['an unknown API key', { authorization: 'Bearer mk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
    ['a token of another kind', { authorization: 'Bearer hello' }],
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['a 10 KB token', { authorization: `Bearer ms_${'x'.repeat(10_000)}` }],
  ])('GET /v1/me answers 401 with %s', async (_name, headers) => {
    const res = await t.call('GET', '/v1/me', { headers });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });
});
