import { baseConfigSchema, envBoolean, loadConfig } from '@mosis/shared';
import { z } from 'zod';

/** Core API settings: the shared ones plus what only the developer-facing API needs. */
export const coreConfigSchema = baseConfigSchema.extend({
  /** Guards /v1/admin/*; admin routes answer 404 while it is unset. */
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * Behind a reverse proxy: take the client IP (audit log, rate limits) from the last X-Forwarded-For entry,
   * the one the proxy appended. Off by default, since any client can send that header.
   */
  TRUST_PROXY: envBoolean.default(false),
});

export type CoreConfig = z.infer<typeof coreConfigSchema>;

export function loadCoreConfig(env: NodeJS.ProcessEnv = process.env): CoreConfig {
  return loadConfig(coreConfigSchema, env);
}
