import { startServer, type RunningServer } from '@mosis/shared';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPackageFiles } from '../package-files/layout.js';
import { createTestApp, versionBody, type TestApp, type TestSigningKey } from '../test-app.js';

// Uploads over a real socket (@hono/node-server), where a body arrives as a stream and a client can vanish.
const LIMIT = 3 * 1024 * 1024;
const CHUNK = 64 * 1024;
let t: TestApp;
let server: RunningServer;
let dev: { token: string; id: string };
let key: TestSigningKey;

beforeAll(async () => {
  t = await createTestApp({ config: { MAX_PACKAGE_BYTES: LIMIT } });
  server = await startServer(t.app.fetch, 0, '127.0.0.1');
  dev = await t.signup();
  key = await t.signingKey(dev.token, dev.id);
});
afterAll(async () => {
  await server.close();
  t.close();
});

const tempDir = () => `${t.packages.root}/.tmp`;
const tempBytes = () => (existsSync(tempDir()) ? readdirSync(tempDir()).reduce((n, f) => n + statSync(`${tempDir()}/${f}`).size, 0) : 0);
const temps = () => (existsSync(tempDir()) ? readdirSync(tempDir()) : []);

function put(path: string, headers: Record<string, string | number> = {}): ClientRequest {
  return request({
    host: '127.0.0.1',
    port: server.port,
    method: 'PUT',
    path,
    headers: { authorization: `Bearer ${dev.token}`, 'content-type': 'application/octet-stream', ...headers },
  });
}

async function body(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) text += chunk;
  return text;
}

/** Resolves when `req` may be written again, or has been answered or closed. */
async function writable(req: ClientRequest): Promise<void> {
  const stop = new AbortController();
  const { signal } = stop;
  await Promise.race([once(req, 'drain', { signal }), once(req, 'response', { signal }), once(req, 'close', { signal })]).finally(() => stop.abort());
}

async function draft(bytes: Uint8Array = Buffer.from('x')) {
  const app = await t.newApp(dev.token);
  await t.call('POST', `/v1/apps/${app.id}/versions`, { token: dev.token, body: versionBody(1, { signature: key.signPackage(bytes) }) });
  return `/v1/apps/${app.id}/versions/1/package`;
}

describe('package uploads over HTTP', () => {
  it('streams a package larger than any buffer to disk', async () => {
    const bytes = randomBytes(LIMIT - 1);
    const path = await draft(bytes);
    const req = put(path, { 'content-length': bytes.length });
    req.end(bytes);
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(await body(res)).sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('stops reading at MAX_PACKAGE_BYTES: 413 before the client has sent the rest, never more than the limit on disk', async () => {
    const path = await draft();
    const total = 8 * LIMIT;
    const settled = once(t.packages.events, 'upload');
    const req = put(path); // chunked: no Content-Length to refuse it up front
    req.on('error', () => {}); // the server closes the connection while we still send
    let answered: IncomingMessage | undefined;
    req.on('response', (res) => (answered = res));
    let sent = 0;
    let maxOnDisk = 0;
    const chunk = randomBytes(CHUNK);
    while (sent < total && !answered && !req.destroyed) {
      if (!req.write(chunk)) await writable(req);
      sent += CHUNK;
      maxOnDisk = Math.max(maxOnDisk, tempBytes());
    }
    const res = answered ?? ((await once(req, 'response')) as [IncomingMessage])[0];
    expect(res.statusCode).toBe(413);
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(await body(res)).error.code).toBe('payload_too_large');
    expect(await settled).toEqual(['too_large']);
    console.log(`413 after the client sent ${sent} of ${total} bytes; at most ${maxOnDisk} bytes on disk`);
    expect(sent).toBeLessThan(total / 2);
    expect(maxOnDisk).toBeLessThanOrEqual(LIMIT);
    expect(temps()).toEqual([]);
    req.destroy();
  }, 20_000); // a server that never stops reading would take the whole body, then answer

  it('refuses a Content-Length over the limit before reading any of the body', async () => {
    const path = await draft();
    const req = put(path, { 'content-length': 10 * LIMIT });
    req.on('error', () => {});
    req.flushHeaders();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    expect(res.statusCode).toBe(413);
    expect(JSON.parse(await body(res)).error).toMatchObject({ code: 'payload_too_large', details: { max_bytes: LIMIT } });
    req.destroy();
  });

  it('keeps nothing of an upload whose connection is cut halfway', async () => {
    const bytes = randomBytes(LIMIT - 1);
    const path = await draft(bytes);
    const filesBefore = listPackageFiles(t.packages.root).length;
    const receiving = once(t.packages.events, 'receiving');
    const settled = once(t.packages.events, 'upload');
    const req = put(path, { 'content-length': bytes.length });
    req.on('error', () => {});
    req.write(bytes.subarray(0, bytes.length >> 1));
    await receiving;
    req.destroy();
    expect(await settled).toEqual(['incomplete']);
    expect(temps()).toEqual([]);
    expect(listPackageFiles(t.packages.root)).toHaveLength(filesBefore);
    expect(t.portal.prepare('SELECT count(*) AS n FROM packages WHERE sha256 = ?').get(createHash('sha256').update(bytes).digest('hex'))).toEqual({ n: 0 });
    const appId = path.split('/')[3];
    const versions = (await t.call('GET', `/v1/apps/${appId}/versions`, { token: dev.token })).body.items;
    expect(versions[0].package).toBeNull();
  });
});
