import {
  createLogger,
  DATABASES,
  migrateUp,
  openDatabase,
  tempDir,
  type DB,
} from '@mosis/shared';
import { createCoreApp } from './app.js';
import { coreConfigSchema, type CoreConfig } from './config.js';
import type { CoreApp } from './context.js';
import type { Tuning } from './limits.js';

/** Cheap scrypt for tests (the format and code path are the production ones; only N is smaller). */
export const TEST_SCRYPT = { N: 1024, r: 8, p: 1 };

export interface TestApp {
  app: CoreApp;
  portal: DB;
  dataDir: string;
  /** Sends a request through the app in-process; JSON bodies are serialized, `token` becomes a bearer. */
  call(method: string, path: string, opts?: CallOptions): Promise<TestResponse>;
  /** Registers a developer and returns their session token and id. */
  signup(email?: string, name?: string): Promise<{ token: string; id: string; email: string }>;
  /** Creates an app with a fresh package_id for `token`'s developer (fields in `extra` override) and returns it. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  newApp(token: string, extra?: Record<string, unknown>): Promise<any>;
  close(): void;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** The socket address the request seems to come from (what @hono/node-server would report). */
  ip?: string;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

let signups = 0;
let apps = 0;

/** A valid POST /v1/apps/{id}/versions body for `code` (fields in `extra` override). */
export const versionBody = (code: number, extra: Record<string, unknown> = {}) => ({
  version_code: code,
  version_name: `1.0.${code}`,
  package_url: `https://cdn.example.com/app-${code}.mpk`,
  package_size: 123_456,
  signature: 'c2lnbmF0dXJl',
  ...extra,
});

/**
 * A fresh core API on a temp DATA_DIR with a migrated portal.db; `close()` removes it all. Rate limits are
 * lifted unless `tuning` sets them (tests of the limits do).
 */
export async function createTestApp(
  opts: { config?: Partial<CoreConfig>; tuning?: Partial<Tuning>; telemetry?: () => DB | undefined } = {},
): Promise<TestApp> {
  const dir = tempDir('mosis-core-');
  const portal = openDatabase(`${dir.path}/portal.db`);
  await migrateUp(portal, DATABASES.portal.migrations);
  const config = { ...coreConfigSchema.parse({ DATA_DIR: dir.path }), ...opts.config };
  const app = createCoreApp({
    config,
    portal,
    telemetry: opts.telemetry ?? (() => undefined),
    log: createLogger('core-api-test', 'silent'),
    tuning: {
      scrypt: TEST_SCRYPT,
      loginMaxPerEmail: 1_000_000,
      loginMaxPerEmailAndIp: 1_000_000,
      loginMaxPerIp: 1_000_000,
      loginMaxPerDevice: 1_000_000,
      registerMaxPerIp: 1_000_000,
      ...opts.tuning,
    },
  });

  const call = async (method: string, path: string, o: CallOptions = {}): Promise<TestResponse> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const env = { incoming: { socket: { remoteAddress: o.ip ?? '127.0.0.1' } } };
    const res = await app.request(path, { method, headers, body }, env);
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  const signup = async (email = `dev${++signups}-${Date.now()}@example.com`, name = 'Test Developer') => {
    const res = await call('POST', '/v1/auth/register', { body: { email, name, password: 'correct horse battery' } });
    if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${res.text}`);
    return { token: res.body.token as string, id: res.body.developer.id as string, email };
  };

  const newApp = async (token: string, extra: Record<string, unknown> = {}) => {
    const seq = ++apps;
    const res = await call('POST', '/v1/apps', { token, body: { package_id: `com.test.app${seq}`, name: `App ${seq}`, ...extra } });
    if (res.status !== 201) throw new Error(`create app failed: ${res.status} ${res.text}`);
    return res.body;
  };

  return {
    app,
    portal,
    dataDir: dir.path,
    call,
    signup,
    newApp,
    close: () => {
      portal.close();
      dir.cleanup();
    },
  };
}
