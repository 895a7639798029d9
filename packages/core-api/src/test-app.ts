import {
  createLogger,
  DATABASES,
  migrateUp,
  openDatabase,
  tempDir,
  type DB,
} from '@mosis/shared';
import { openPgAppRegistryPublisher, openSqliteTelemetryReads, type TelemetryReads } from '@mosis/ingest';
import { AppRegistryFeed } from './app-registry.js';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createCoreApp, createPackageStorage } from './app.js';
import { coreConfigSchema, type CoreConfig } from './config.js';
import type { CoreApp } from './context.js';
import type { Tuning } from './limits.js';
import type { PackageStorage } from './package-files/storage.js';

/** Cheap scrypt for tests (the format and code path are the production ones; only N is smaller). */
export const TEST_SCRYPT = { N: 1024, r: 8, p: 1 };

export interface TestApp {
  app: CoreApp;
  portal: DB;
  dataDir: string;
  /** DATA_DIR/telemetry.db: absent until a test creates it (the core API then answers empty analytics). */
  telemetryPath: string;
  /** With `appRegistryUrl`: the publisher of app changes (stop it before `close()`). */
  appRegistry?: AppRegistryFeed;
  /** The package files (DATA_DIR/packages, copies in DATA_DIR/backups/packages). */
  packages: PackageStorage;
  /** Sends a request through the app in-process; JSON bodies are serialized, `token` becomes a bearer. */
  call(method: string, path: string, opts?: CallOptions): Promise<TestResponse>;
  /** Registers a developer and returns their session token and id. */
  signup(email?: string, name?: string): Promise<{ token: string; id: string; email: string }>;
  /** Creates an app with a fresh package_id for `token`'s developer (fields in `extra` override) and returns it. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  newApp(token: string, extra?: Record<string, unknown>): Promise<any>;
  /** Registers a fresh Ed25519 signing key for the developer, with its proof of possession. */
  signingKey(token: string, developerId: string, name?: string): Promise<TestSigningKey>;
  /**
   * Creates version `code` of `appId` signed by `key` over `bytes` and uploads them: a draft ready to submit.
   * Returns the upload's answer.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readyVersion(token: string, key: TestSigningKey, appId: string, code: number, bytes?: Uint8Array, extra?: Record<string, unknown>): Promise<any>;
  /** PUTs `bytes` as the package of version `code` of `appId`. */
  upload(token: string, appId: string, code: number, bytes: Uint8Array): Promise<TestResponse>;
  close(): void;
}

/** A signing key of a test developer: its registered row and a signer over package digests. */
export interface TestSigningKey {
  id: string;
  fingerprint: string;
  publicPem: string;
  privateKey: KeyObject;
  /** base64 Ed25519 signature of the SHA-256 digest of `bytes`, as a version's `signature`. */
  signPackage(bytes: Uint8Array): string;
}

/** A new Ed25519 key pair and the proof for `developerId`. */
export function ed25519KeyPair(developerId: string) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey,
    proof: sign(null, Buffer.from(`mosis-signing-key:${developerId}`, 'utf8'), privateKey).toString('base64'),
  };
}

/** base64 Ed25519 signature of the SHA-256 digest of `bytes` by `privateKey`. */
export function signPackage(privateKey: KeyObject, bytes: Uint8Array): string {
  return sign(null, createHash('sha256').update(bytes).digest(), privateKey).toString('base64');
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Raw bytes sent as application/octet-stream (unless headers say otherwise), instead of `body`. */
  raw?: Uint8Array;
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

/** The device-hash secret of test apps' telemetry reads (ingest test services take it as DEVICE_HASH_SECRET). */
export const TEST_DEVICE_SECRET = 'test-device-hash-secret-0123456789abcdef';

/** 64 bytes in base64: shaped like an Ed25519 signature, verifying nothing. */
export const DUMMY_SIGNATURE = Buffer.alloc(64, 7).toString('base64');

let signups = 0;
let apps = 0;

/** A valid POST /v1/apps/{id}/versions body for `code` (fields in `extra` override). */
export const versionBody = (code: number, extra: Record<string, unknown> = {}) => ({
  version_code: code,
  version_name: `1.0.${code}`,
  package_url: `https://cdn.example.com/app-${code}.mpk`,
  package_size: 123_456,
  signature: DUMMY_SIGNATURE,
  ...extra,
});

/**
 * A fresh core API on a temp DATA_DIR with a migrated portal.db; `close()` removes it all. Rate limits are
 * lifted unless `tuning` sets them (tests of the limits do).
 */
export async function createTestApp(
  opts: {
    config?: Partial<CoreConfig>;
    tuning?: Partial<Tuning>;
    telemetry?: TelemetryReads;
    /** A telemetry PostgreSQL to publish app changes into, as main.ts does with TELEMETRY_DATABASE_URL (`appRegistry`; stop it before close). */
    appRegistryUrl?: string;
  } = {},
): Promise<TestApp> {
  const dir = tempDir('mosis-core-');
  const portal = openDatabase(`${dir.path}/portal.db`);
  await migrateUp(portal, DATABASES.portal.migrations);
  const config = { ...coreConfigSchema.parse({ DATA_DIR: dir.path }), ...opts.config };
  const log = createLogger('core-api-test', 'silent');
  const packages = createPackageStorage({ config, log });
  const telemetryPath = `${dir.path}/telemetry.db`;
  // As main.ts opens them: read-only, on first use, so a test may create telemetry.db at any point.
  const telemetry = opts.telemetry ?? openSqliteTelemetryReads({ path: telemetryPath, deviceSecret: TEST_DEVICE_SECRET, retentionDays: config.RETENTION_DAYS });
  const appRegistry = opts.appRegistryUrl ? await new AppRegistryFeed(portal, openPgAppRegistryPublisher(opts.appRegistryUrl), log).start() : undefined;
  const app = createCoreApp({
    config,
    portal,
    packages,
    telemetry,
    log,
    ...(appRegistry && { appRegistry }),
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
    let body: string | Uint8Array | undefined;
    if (o.raw !== undefined) {
      body = o.raw;
      headers['content-type'] ??= 'application/octet-stream';
    } else if (o.body !== undefined) {
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

  const signingKey = async (token: string, developerId: string, name = 'release'): Promise<TestSigningKey> => {
    const pair = ed25519KeyPair(developerId);
    const res = await call('POST', '/v1/signing-keys', { token, body: { name, public_key: pair.publicPem, proof: pair.proof } });
    if (res.status !== 201) throw new Error(`signing key failed: ${res.status} ${res.text}`);
    return { id: res.body.id, fingerprint: res.body.fingerprint, publicPem: pair.publicPem, privateKey: pair.privateKey, signPackage: (b) => signPackage(pair.privateKey, b) };
  };

  const upload = (token: string, appId: string, code: number, bytes: Uint8Array) =>
    call('PUT', `/v1/apps/${appId}/versions/${code}/package`, { token, raw: bytes });

  const readyVersion = async (
    token: string,
    key: TestSigningKey,
    appId: string,
    code: number,
    bytes: Uint8Array = Buffer.from(`package ${appId} ${code}`),
    extra: Record<string, unknown> = {},
  ) => {
    const created = await call('POST', `/v1/apps/${appId}/versions`, { token, body: versionBody(code, { signature: key.signPackage(bytes), ...extra }) });
    if (created.status !== 201) throw new Error(`create version failed: ${created.status} ${created.text}`);
    const res = await upload(token, appId, code, bytes);
    if (res.status !== 200) throw new Error(`upload failed: ${res.status} ${res.text}`);
    return res.body;
  };

  return {
    app,
    portal,
    ...(appRegistry && { appRegistry }),
    dataDir: dir.path,
    telemetryPath,
    packages,
    call,
    signup,
    newApp,
    signingKey,
    readyVersion,
    upload,
    close: () => {
      if (!opts.telemetry) void telemetry.close();
      portal.close();
      dir.cleanup();
    },
  };
}
