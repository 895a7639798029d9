import type { OpenAPIHono } from '@hono/zod-openapi';
import {
  createMetrics,
  createServiceApp,
  isWritable,
  mountOperationalRoutes,
  registerDatabaseMetrics,
  type DB,
  type Logger,
  type Metrics,
} from '@mosis/shared';
import type { IngestConfig } from './config.js';

export const SERVICE_NAME = 'ingest';
export const API_VERSION = '1.0.0';

export interface IngestDeps {
  config: IngestConfig;
  /** telemetry.db, read-write: ingest is its only writer. */
  telemetry: DB;
  log: Logger;
  metrics?: Metrics;
}

/** Builds the ingest app. Tests drive it with `app.request()`. */
export function createIngestApp(deps: IngestDeps): OpenAPIHono {
  const metrics = deps.metrics ?? createMetrics(SERVICE_NAME);
  registerDatabaseMetrics(metrics, { telemetry: () => deps.telemetry });
  const app = createServiceApp(deps.log, metrics);
  mountOperationalRoutes(app, {
    metrics,
    title: 'Mosis telemetry ingest',
    version: API_VERSION,
    description: 'Device events and crash reports.',
    ready: [{ name: 'telemetry_db', ok: () => isWritable(deps.telemetry) }],
  });
  return app;
}
