import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, DUMMY_SIGNATURE, ed25519KeyPair, signPackage, type TestApp } from './test-app.js';

const ADMIN = 'admin-token-for-audit-tests-00000';
const PASSWORD = 'correct horse battery';
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ config: { ADMIN_TOKEN: ADMIN } });
});
afterAll(() => t.close());

const rows = () => t.portal.prepare('SELECT * FROM audit_logs ORDER BY id').all() as Record<string, string | null>[];
const client = { ip: '192.0.2.44', headers: { 'user-agent': 'audit-test/1.0' } };

describe('audit log', () => {
  it('writes exactly one row, with IP and user agent, for every mutation, and none for a refused request', async () => {
    const secrets: string[] = [PASSWORD];
    const ctx: Record<string, string> = {};
    const pkg = Buffer.from('an audited package');
    let pair: ReturnType<typeof ed25519KeyPair>;
    const version = (code: number, signature: string) => ({ version_code: code, version_name: `${code}`, package_size: 1, signature });
    const upload = (code: number) =>
      t.call('PUT', `/v1/apps/${ctx.appId}/versions/${code}/package`, { ...client, token: ctx.token, raw: pkg });
    const steps: [action: string, run: () => Promise<{ status: number; body: any }>][] = [
      ['developer.registered', () => t.call('POST', '/v1/auth/register', { ...client, body: { email: 'audit@example.com', name: 'A', password: PASSWORD } })],
      ['session.login', () => t.call('POST', '/v1/auth/login', { ...client, body: { email: 'audit@example.com', password: PASSWORD } })],
      ['session.login_failed', () => t.call('POST', '/v1/auth/login', { ...client, body: { email: 'audit@example.com', password: 'wrong password' } })],
      ['api_key.created', () => t.call('POST', '/v1/api-keys', { ...client, token: ctx.token, body: { name: 'k', permissions: ['apps:read'] } })],
      ['api_key.revoked', () => t.call('DELETE', `/v1/api-keys/${ctx.keyId}`, { ...client, token: ctx.token })],
      ['signing_key.created', () => t.call('POST', '/v1/signing-keys', { ...client, token: ctx.token, body: { name: 'old', public_key: (pair = ed25519KeyPair(ctx.devId!)).publicPem, proof: pair.proof } })],
      ['signing_key.deactivated', () => t.call('DELETE', `/v1/signing-keys/${ctx.signingId}`, { ...client, token: ctx.token })],
      ['signing_key.created', () => t.call('POST', '/v1/signing-keys', { ...client, token: ctx.token, body: { name: 's', public_key: (pair = ed25519KeyPair(ctx.devId!)).publicPem, proof: pair.proof } })],
      ['app.created', () => t.call('POST', '/v1/apps', { ...client, token: ctx.token, body: { package_id: 'com.audit.app', name: 'Audited' } })],
      ['app.updated', () => t.call('PATCH', `/v1/apps/${ctx.appId}`, { ...client, token: ctx.token, body: { name: 'Audited 2' } })],
      ['version.created', () => t.call('POST', `/v1/apps/${ctx.appId}/versions`, { ...client, token: ctx.token, body: version(1, DUMMY_SIGNATURE) })],
      ['package.verification_failed', () => upload(1)],
      ['version.signature_changed', () => t.call('PATCH', `/v1/apps/${ctx.appId}/versions/1`, { ...client, token: ctx.token, body: { signature: signPackage(pair.privateKey, pkg) } })],
      ['package.uploaded', () => upload(1)],
      ['version.created', () => t.call('POST', `/v1/apps/${ctx.appId}/versions`, { ...client, token: ctx.token, body: version(2, DUMMY_SIGNATURE) })],
      ['version.deleted', () => t.call('DELETE', `/v1/apps/${ctx.appId}/versions/2`, { ...client, token: ctx.token })],
      ['version.submitted', () => t.call('POST', `/v1/apps/${ctx.appId}/versions/1/submit`, { ...client, token: ctx.token })],
      ['version.approved', () => t.call('POST', `/v1/admin/apps/${ctx.appId}/versions/1/approve`, { ...client, token: ADMIN })],
      ['version.published', () => t.call('POST', `/v1/admin/apps/${ctx.appId}/versions/1/publish`, { ...client, token: ADMIN })],
      ['app.suspended', () => t.call('POST', `/v1/admin/apps/${ctx.appId}/suspend`, { ...client, token: ADMIN })],
      ['app.reinstated', () => t.call('POST', `/v1/admin/apps/${ctx.appId}/reinstate`, { ...client, token: ADMIN })],
      ['app.deleted', () => t.call('DELETE', `/v1/apps/${ctx.appId}`, { ...client, token: ctx.token })],
      ['session.logout', () => t.call('POST', '/v1/auth/logout', { ...client, token: ctx.token })],
    ];
    for (const [action, run] of steps) {
      const before = rows().length;
      const res = await run();
      const refused = { 'session.login_failed': 401, 'package.verification_failed': 422 }[action];
      if (refused) expect(res.status, action).toBe(refused);
      else expect(res.status, action).toBeLessThan(300);
      if (res.body?.token) secrets.push((ctx.token = res.body.token));
      if (res.body?.developer?.id) ctx.devId = res.body.developer.id;
      if (res.body?.key) secrets.push(res.body.key), (ctx.keyId = res.body.id);
      if (action === 'signing_key.created') ctx.signingId = res.body.id;
      if (action === 'app.created') ctx.appId = res.body.id;
      const after = rows();
      expect(after.length, action).toBe(before + 1);
      expect(after.at(-1), action).toMatchObject({ action, ip_address: '192.0.2.44', user_agent: 'audit-test/1.0' });
      expect(after.at(-1)!.developer_id, action).toBeTruthy();
    }
    const dump = JSON.stringify(rows());
    for (const secret of secrets) expect(dump).not.toContain(secret);

    const before = rows().length;
    const { token } = await t.signup();
    const afterSignup = rows().length;
    await t.call('POST', '/v1/apps', { token, body: { package_id: 'bad id', name: 'x' } });
    await t.call('PATCH', `/v1/apps/${ctx.appId}`, { token, body: { name: 'x' } });
    await t.call('DELETE', '/v1/api-keys/nope', { token });
    expect(afterSignup).toBe(before + 1);
    expect(rows().length).toBe(afterSignup);
  });

  it("pages through the caller's own trail, newest first", async () => {
    const { token } = await t.signup();
    for (let i = 0; i < 4; i++) await t.call('POST', '/v1/apps', { token, body: { package_id: `com.trail.app${i}`, name: `T${i}` } });
    const first = await t.call('GET', '/v1/audit-logs?limit=3', { token });
    expect(first.body.items.map((l: { action: string }) => l.action)).toEqual(['app.created', 'app.created', 'app.created']);
    expect(first.body.items[0].details).toEqual({ package_id: 'com.trail.app3' });
    const second = await t.call('GET', `/v1/audit-logs?limit=3&cursor=${first.body.next_cursor}`, { token });
    expect(second.body.items.map((l: { action: string }) => l.action)).toEqual(['app.created', 'developer.registered']);
    expect(second.body.next_cursor).toBeNull();
    expect((await t.call('GET', '/v1/audit-logs')).status).toBe(401);
  });
});
