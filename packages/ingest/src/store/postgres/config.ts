import { loadConfig } from '@mosis/shared';
import { z } from 'zod';

/**
 * TELEMETRY_DATABASE_URL: `postgres://user:password@host:port/database` puts telemetry on PostgreSQL
 * instead of telemetry.db (API.md, "Telemetry on PostgreSQL"); unset, SQLite as before. One schema for
 * every service that takes it, so they refuse the same bad values.
 */
export const telemetryDatabaseUrlSchema = z.preprocess(
  // An empty value (`TELEMETRY_DATABASE_URL=` in a compose file) means unset.
  (v) => (v === '' ? undefined : v),
  z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' }).optional(),
);

/**
 * TELEMETRY_DATABASE_URL alone, for the tools that act on whichever store the services use (`ops rollup`,
 * `prune`, `stats`). A bad value is a ConfigError naming it, as at a service's start.
 */
export function loadTelemetryDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  // A bad value's message shows it without its password (loadConfig).
  return loadConfig(z.object({ TELEMETRY_DATABASE_URL: telemetryDatabaseUrlSchema }), env).TELEMETRY_DATABASE_URL;
}
