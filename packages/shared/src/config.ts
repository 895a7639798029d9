import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_HTTP_BODY_IDLE_TIMEOUT_MS, DEFAULT_HTTP_HEADERS_TIMEOUT_MS, DEFAULT_HTTP_REQUEST_TIMEOUT_MS } from './limits.js';
import './zod-messages.js';

/** Parses "true"/"false"/"1"/"0"/"yes"/"no" (any case) from an environment variable. */
export const envBoolean = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no']))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A TCP port from an environment variable. */
export const envPort = z.coerce.number().int().min(1).max(65535);

/** Milliseconds, from an environment variable. */
const envMs = z.coerce.number().int().min(50).max(3_600_000);

/** Settings both services read. Defaults are the contract's (shared/API.md) and limits.ts. */
export const baseConfigSchema = z.object({
  DATA_DIR: z.string().min(1).default('./data'),
  CORE_PORT: envPort.default(8080),
  INGEST_PORT: envPort.default(8081),
  HOST: z.string().min(1).default('0.0.0.0'),
  MIGRATE_ON_START: envBoolean.default(true),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Set by the launcher when Litestream replicates the databases: Litestream then owns checkpoints. */
  LITESTREAM: envBoolean.default(false),
  /** Longest wait for a request's headers (408 after it). */
  HTTP_HEADERS_TIMEOUT_MS: envMs.default(DEFAULT_HTTP_HEADERS_TIMEOUT_MS),
  /** Longest pause inside a request body (408 after it). */
  HTTP_BODY_IDLE_TIMEOUT_MS: envMs.default(DEFAULT_HTTP_BODY_IDLE_TIMEOUT_MS),
  /** Longest time to receive a whole request (408 after it); at least HTTP_HEADERS_TIMEOUT_MS. */
  HTTP_REQUEST_TIMEOUT_MS: envMs.default(DEFAULT_HTTP_REQUEST_TIMEOUT_MS),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

/** Thrown when the environment does not satisfy a config schema; the message names each bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Variables whose values are secrets: a config error names them but never shows what was given. */
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|(^|_)KEY($|_)/;

/**
 * A bad value as a config error shows it (errors reach logs): a secret as its length only, a URL without
 * its password, anything else as given.
 */
function shownValue(name: string, value: string): string {
  if (SECRET_NAME.test(name)) return `a value of ${value.length} characters, not shown`;
  try {
    const url = new URL(value);
    if (url.password) {
      url.password = '***';
      return JSON.stringify(url.href);
    }
  } catch {
    // not a URL
  }
  return JSON.stringify(value);
}

/**
 * Validates `env` against `schema`. Empty strings count as unset, so `PORT=` falls back to the default.
 * Relative DATA_DIR is resolved against the working directory once, here.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.') || '(environment)';
        const given = input[name] === undefined ? 'unset' : shownValue(name, input[name]);
        return `${name}: ${issue.message} (got ${given})`;
      }),
    );
  }
  const config = parsed.data as z.infer<S> & { DATA_DIR?: string; HTTP_HEADERS_TIMEOUT_MS?: number; HTTP_REQUEST_TIMEOUT_MS?: number };
  // Node refuses a headers timeout longer than the request timeout; say so in the config's terms.
  if (config.HTTP_HEADERS_TIMEOUT_MS !== undefined && config.HTTP_REQUEST_TIMEOUT_MS !== undefined && config.HTTP_HEADERS_TIMEOUT_MS > config.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError([
      `HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (${config.HTTP_REQUEST_TIMEOUT_MS}) (got ${JSON.stringify(String(config.HTTP_HEADERS_TIMEOUT_MS))})`,
    ]);
  }
  if (typeof config.DATA_DIR === 'string' && !isAbsolute(config.DATA_DIR)) config.DATA_DIR = resolve(config.DATA_DIR);
  return config;
}
