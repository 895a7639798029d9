import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
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

/** Settings both services read. Defaults are the contract's (shared/API.md). */
export const baseConfigSchema = z.object({
  DATA_DIR: z.string().min(1).default('./data'),
  CORE_PORT: envPort.default(8080),
  INGEST_PORT: envPort.default(8081),
  HOST: z.string().min(1).default('0.0.0.0'),
  MIGRATE_ON_START: envBoolean.default(true),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Set by the launcher when Litestream replicates the databases: Litestream then owns checkpoints. */
  LITESTREAM: envBoolean.default(false),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

/** Thrown when the environment does not satisfy a config schema; the message names each bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
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
        const given = input[name] === undefined ? 'unset' : JSON.stringify(input[name]);
        return `${name}: ${issue.message} (got ${given})`;
      }),
    );
  }
  const config = parsed.data as z.infer<S> & { DATA_DIR?: string };
  if (typeof config.DATA_DIR === 'string' && !isAbsolute(config.DATA_DIR)) config.DATA_DIR = resolve(config.DATA_DIR);
  return config;
}
