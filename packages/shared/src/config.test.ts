import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseConfigSchema, ConfigError, loadConfig } from './config.js';
import { DEFAULT_HTTP_BODY_IDLE_TIMEOUT_MS, DEFAULT_HTTP_HEADERS_TIMEOUT_MS, DEFAULT_HTTP_REQUEST_TIMEOUT_MS } from './limits.js';

describe('loadConfig', () => {
  it('applies the contract defaults when nothing is set', () => {
    const config = loadConfig(baseConfigSchema, {});
    expect(config.CORE_PORT).toBe(8080);
    expect(config.INGEST_PORT).toBe(8081);
    expect(config.MIGRATE_ON_START).toBe(true);
    expect(config.DATA_DIR).toMatch(/\/data$/);
  });

  it('names a bad secret or URL without showing the secret or the password', () => {
    const schema = z.object({
      ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters'),
      DEVICE_HASH_SECRET: z.string().min(32, 'must be at least 32 characters'),
      TELEMETRY_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }),
      LOG_LEVEL: z.enum(['info', 'debug']),
    });
    let err: ConfigError | undefined;
    try {
      loadConfig(schema, { ADMIN_TOKEN: 'hunter2', DEVICE_HASH_SECRET: 'short-secret', TELEMETRY_DATABASE_URL: 'mysql://mosis:s3cret-pw@db:3306/t', LOG_LEVEL: 'loud' });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).not.toMatch(/hunter2|short-secret|s3cret-pw/);
    expect(err!.problems).toEqual([
      'ADMIN_TOKEN: must be at least 16 characters (got a value of 7 characters, not shown)',
      'DEVICE_HASH_SECRET: must be at least 32 characters (got a value of 12 characters, not shown)',
      'TELEMETRY_DATABASE_URL: must be a postgres:// URL (got "mysql://mosis:***@db:3306/t")',
      expect.stringMatching(/^LOG_LEVEL: .* \(got "loud"\)$/),
    ]);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(baseConfigSchema, { CORE_PORT: '' }).CORE_PORT).toBe(8080);
  });

  it('parses booleans and ports', () => {
    const config = loadConfig(baseConfigSchema, { MIGRATE_ON_START: 'False', INGEST_PORT: '9000' });
    expect(config.MIGRATE_ON_START).toBe(false);
    expect(config.INGEST_PORT).toBe(9000);
  });

  it.each([
    ['CORE_PORT', 'eighty'],
    ['CORE_PORT', '70000'],
    ['MIGRATE_ON_START', 'maybe'],
    ['LOG_LEVEL', 'loud'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    let err: unknown;
    try {
      loadConfig(baseConfigSchema, { [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(name);
    expect((err as Error).message).toContain(JSON.stringify(value));
  });

  it('has HTTP timeouts, and refuses a headers timeout longer than the request timeout', () => {
    const config = loadConfig(baseConfigSchema, {});
    expect([config.HTTP_HEADERS_TIMEOUT_MS, config.HTTP_BODY_IDLE_TIMEOUT_MS, config.HTTP_REQUEST_TIMEOUT_MS]).toEqual([
      DEFAULT_HTTP_HEADERS_TIMEOUT_MS,
      DEFAULT_HTTP_BODY_IDLE_TIMEOUT_MS,
      DEFAULT_HTTP_REQUEST_TIMEOUT_MS,
    ]);
    expect(() => loadConfig(baseConfigSchema, { HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' })).toThrow(/HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS/);
  });
});
