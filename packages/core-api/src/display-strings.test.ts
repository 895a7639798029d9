import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, setSuspended } from './review/workflow.js';
import { createTestApp, ed25519KeyPair, versionBody, type TestApp, type TestResponse, type TestSigningKey } from './test-app.js';

/**
 * Every string shown to people refuses invisible and direction-changing characters (Unicode Cf) with a 400
 * naming the field, and takes ordinary text of any script, emoji (ZWJ sequences and tag flags included).
 */

const ADMIN = 'display-admin-token-000000000';
let t: TestApp;
let token: string;
let developerId: string;
let key: TestSigningKey;
let appId: string;
let code = 0;
let n = 0;

beforeAll(async () => {
  t = await createTestApp({ config: { ADMIN_TOKEN: ADMIN } });
  ({ token, id: developerId } = await t.signup());
  key = await t.signingKey(token, developerId);
  appId = (await t.newApp(token)).id;
});
afterAll(() => t.close());

/** A version of the app in review, for a decision with notes. */
const inReview = async () => {
  const c = ++code;
  await t.readyVersion(token, key, appId, c);
  expect((await t.call('POST', `/v1/apps/${appId}/versions/${c}/submit`, { token })).status).toBe(200);
  return c;
};

/** Each display string: how to send a value in it, and the field path the error must name. */
const FIELDS: [field: string, send: (v: string) => Promise<TestResponse>][] = [
  ['name', (v) => t.call('POST', '/v1/auth/register', { body: { email: `d${++n}@example.com`, name: v, password: 'correct horse battery' } })],
  ['name', (v) => t.call('POST', '/v1/apps', { token, body: { package_id: `com.display.a${++n}`, name: v } })],
  ['name', (v) => t.call('PATCH', `/v1/apps/${appId}`, { token, body: { name: v } })],
  ['description', (v) => t.call('POST', '/v1/apps', { token, body: { package_id: `com.display.a${++n}`, name: 'x', description: v } })],
  ['description', (v) => t.call('PATCH', `/v1/apps/${appId}`, { token, body: { description: v } })],
  ['name', (v) => t.call('POST', '/v1/api-keys', { token, body: { name: v, permissions: ['apps:read'] } })],
  [
    'name',
    (v) => {
      const pair = ed25519KeyPair(developerId);
      return t.call('POST', '/v1/signing-keys', { token, body: { name: v, public_key: pair.publicPem, proof: pair.proof } });
    },
  ],
  ['version_name', (v) => t.call('POST', `/v1/apps/${appId}/versions`, { token, body: versionBody(++code, { version_name: v }) })],
  ['release_notes', (v) => t.call('POST', `/v1/apps/${appId}/versions`, { token, body: versionBody(++code, { release_notes: v }) })],
  ['notes', async (v) => t.call('POST', `/v1/admin/apps/${appId}/versions/${await inReview()}/reject`, { token: ADMIN, body: { notes: v } })],
  [
    'reason',
    async (v) => {
      const res = await t.call('POST', `/v1/admin/apps/${appId}/suspend`, { token: ADMIN, body: { reason: v } });
      if (res.status === 200) expect((await t.call('POST', `/v1/admin/apps/${appId}/reinstate`, { token: ADMIN })).status).toBe(200);
      return res;
    },
  ],
];

const INVISIBLE: [name: string, text: string, found: string][] = [
  ['a right-to-left override', 'ppa.elgoog\u202Emoc', 'U+202E'],
  ['a left-to-right embedding', 'a\u202Ab', 'U+202A'],
  ['a first-strong isolate', 'name \u2068x\u2069', 'U+2068'],
  ['a left-to-right isolate', '\u2066Bank\u2069', 'U+2066'],
  ['a pop directional isolate', 'Bank\u2069', 'U+2069'],
  ['a zero width space', 'Pay\u200BPal', 'U+200B'],
  ['a byte order mark inside', 'Pay\uFEFFPal', 'U+FEFF'],
  ['a leading byte order mark', '\uFEFFPayPal', 'U+FEFF'],
  ['a right-to-left mark', 'abc\u200F', 'U+200F'],
  ['a soft hyphen', 'Pay\u00ADPal', 'U+00AD'],
  ['a word joiner', 'Pay\u2060Pal', 'U+2060'],
  ['a zero width joiner between letters', 'Pay\u200DPal', 'U+200D'],
  ['a zero width non-joiner', 'Pay\u200CPal', 'U+200C'],
  ['a lone tag character', 'flag\u{E0041}', 'U+E0041'],
  ['a zero width joiner after an emoji but before a letter', '👩\u200Dx', 'U+200D'],
];

const ORDINARY = [
  'Café Olé',
  'Ünïcödé ñ ß',
  '日本語のアプリ',
  'Приложение',
  'تطبيق عربي',
  'עברית',
  'हिन्दी',
  '👩‍💻 Dev tools',
  '🏳️‍🌈 Pride',
  '👨‍👩‍👧 Family ❤️‍🔥',
  '🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scotland',
  '🇫🇷 1️⃣ 👍🏽',
];

describe('display strings', () => {
  it.each(FIELDS.map(([field, send], i) => [`${field} (#${i + 1})`, field, send] as const))(
    '%s refuses every invisible or direction-changing character with a 400 naming the field',
    async (_label, field, send) => {
      for (const [name, text, found] of INVISIBLE) {
        const res = await send(text);
        expect(res.status, `${name}: ${res.text}`).toBe(400);
        expect(res.body.error.code, name).toBe('invalid_body');
        expect(res.body.error.message, name).toBe(`${field}: must not contain invisible or direction-changing characters (found ${found})`);
      }
    },
  );

  it.each(FIELDS.map(([field, send], i) => [`${field} (#${i + 1})`, send] as const))('%s takes ordinary text of any script, and emoji', async (_label, send) => {
    for (const text of ORDINARY) {
      const res = await send(text);
      expect(res.status, `${text}: ${res.text}`).toBeLessThan(300);
    }
  });

  it('tags and category refuse them too, naming the field; tags take letters of any script', async () => {
    const app = (tags: unknown, category?: string) => t.call('POST', '/v1/apps', { token, body: { package_id: `com.display.t${++n}`, name: 'x', tags, category } });
    const tag = await app(['pay\u200Bpal']);
    expect(tag.status).toBe(400);
    expect(tag.body.error.message).toBe('tags.0: must not contain invisible or direction-changing characters (found U+200B)');
    const category = await app([], 'tools\u202E');
    expect(category.status).toBe(400);
    expect(category.body.error.message).toMatch(/^category: /);
    expect((await app(['café', '日本語', 'приложение'])).status).toBe(201);
  });

  it('the operator command line refuses them in review notes and suspension reasons as the HTTP routes do', async () => {
    const c = await inReview();
    const ops = { via: 'ops', ip: null, userAgent: null } as const;
    expect(() => decide(t.portal, appId, c, 'reject', ops, 'see \u202Eevil')).toThrow('notes: must not contain invisible or direction-changing characters (found U+202E)');
    expect(() => setSuspended(t.portal, appId, true, ops, 'x\u200By')).toThrow(/^reason: must not contain invisible/);
    expect(decide(t.portal, appId, c, 'reject', ops, 'Crashes on start 👩‍💻').status).toBe('rejected');
  });

  it('text fields keep line breaks and tabs, but no other control character', async () => {
    const ok = await t.call('PATCH', `/v1/apps/${appId}`, { token, body: { description: 'Line one\n\tLine two\r\n' } });
    expect(ok.status).toBe(200);
    const bad = await t.call('PATCH', `/v1/apps/${appId}`, { token, body: { description: 'colour \u001b[31mred' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^description: /);
  });
});
