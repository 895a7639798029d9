import { z } from 'zod';

/**
 * TELEMETRY_DATABASE_URL: `postgres://user:password@host:port/database` puts telemetry on PostgreSQL
 * instead of telemetry.db (API.md, "Telemetry on PostgreSQL"); unset, SQLite as before. One schema for
 * every service that takes it, so they refuse the same bad values.
 */
export const telemetryDatabaseUrlSchema = z
  .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' })
  .optional();
