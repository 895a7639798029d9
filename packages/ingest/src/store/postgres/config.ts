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
