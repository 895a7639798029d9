import type { OpenAPIHono } from '@hono/zod-openapi';
import {
  createMetrics,
  createServiceApp,
  isReadable,
  isWritable,
  mountOperationalRoutes,
  registerDatabaseMetrics,
  type DB,
  type Logger,
  type Metrics,
} from '@mosis/shared';
import type { CoreConfig } from './config.js';

export const SERVICE_NAME = 'core-api';
export const API_VERSION = '1.0.0';

export interface CoreDeps {
  config: CoreConfig;
  /** portal.db, read-write. */
  portal: DB;
  /** telemetry.db, read-only; undefined until the ingest service has created it. */
  telemetry: () => DB | undefined;
  log: Logger;
  metrics?: Metrics;
}

/** Builds the core API: every route over the given databases. Tests drive it with `app.request()`. */
export function createCoreApp(deps: CoreDeps): OpenAPIHono {
  const metrics = deps.metrics ?? createMetrics(SERVICE_NAME);
  registerDatabaseMetrics(metrics, { portal: () => deps.portal, telemetry: deps.telemetry });
  const app = createServiceApp(deps.log, metrics);
  mountOperationalRoutes(app, {
    metrics,
    title: 'Mosis portal core API',
    version: API_VERSION,
    description: 'Developer accounts, API keys, apps and versions, signing keys, catalog, analytics, audit.',
    ready: [
      { name: 'portal_db', ok: () => isWritable(deps.portal) },
      // Missing until ingest first starts; analytics then answer empty, which is not a reason to be unready.
      { name: 'telemetry_db', ok: () => { const t = deps.telemetry(); return t === undefined || isReadable(t); } },
    ],
  });
  return app;
}
