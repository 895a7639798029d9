import {
  ApiError,
  createMetrics,
  createServiceApp,
  isWritable,
  mountOperationalRoutes,
  registerDatabaseMetrics,
  type Metrics,
} from '@mosis/shared';
import { bodyLimit } from 'hono/body-limit';
import { clientInfo } from './client.js';
import { backupDir } from './config.js';
import { mountConsole } from './console/index.js';
import { registerDocs } from './docs.js';
import type { CoreApp, CoreDeps, CoreEnv, RouteModule } from './context.js';
import { MAX_JSON_BODY_BYTES } from './limits.js';
import { BEARER_SCHEME } from './openapi.js';
import { PackageStorage } from './package-files/storage.js';
import * as admin from './routes/admin.js';
import * as analytics from './routes/analytics.js';
import * as apiKeys from './routes/api-keys.js';
import * as apps from './routes/apps.js';
import * as auditLogs from './routes/audit-logs.js';
import * as auth from './routes/auth.js';
import * as catalog from './routes/catalog.js';
import * as crashes from './routes/crashes.js';
import * as events from './routes/events.js';
import * as me from './routes/me.js';
import * as packages from './routes/packages.js';
import * as signingKeys from './routes/signing-keys.js';
import * as versions from './routes/versions.js';
import * as versionDrafts from './routes/version-drafts.js';

export type { CoreDeps } from './context.js';

export const SERVICE_NAME = 'core-api';
export const API_VERSION = '1.0.0';
const API_INFO = {
  title: 'Mosis portal core API',
  version: API_VERSION,
  description: 'Developer accounts, API keys, apps and versions, signing keys, catalog, analytics, audit.',
};

/**
 * Every route group, one module per file under routes/. A module exports `register(app, deps)` (see
 * RouteModule in context.ts): it declares its routes with `createRoute` + `app.openapi` so /openapi.json and
 * /docs list them, and guards them with `requireAuth(deps.portal, permission)` from auth/middleware.ts.
 * To add a group, import it above and add one entry here.
 */
const ROUTE_MODULES: RouteModule[] = [
  auth.register,
  me.register,
  apiKeys.register,
  signingKeys.register,
  apps.register,
  versions.register,
  versionDrafts.register,
  packages.register,
  analytics.register,
  events.register,
  crashes.register,
  catalog.register,
  auditLogs.register,
  admin.register,
];

/** Builds the core API: every route over the given databases. Tests drive it with `app.request()`. */
export function createCoreApp(given: CoreDeps): CoreApp {
  const metrics = given.metrics ?? createMetrics(SERVICE_NAME);
  const deps: CoreDeps = { ...given, metrics, packages: given.packages ?? createPackageStorage(given, metrics) };
  // telemetry.db's file metrics come from ingest, its owner.
  registerDatabaseMetrics(metrics, { portal: () => deps.portal });
  const app = createServiceApp<CoreEnv>(deps.log, metrics);
  mountOperationalRoutes(app, {
    metrics,
    ...API_INFO,
    ready: [
      { name: 'portal_db', ok: () => isWritable(deps.portal) },
      // Missing until ingest first starts; analytics then answer empty, which is not a reason to be unready.
      { name: 'telemetry_db', ok: () => deps.telemetry.ready?.() ?? true },
    ],
  });
  app.openAPIRegistry.registerComponent('securitySchemes', BEARER_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: 'A session token from /v1/auth/login or an API key (`mk_...`).',
  });

  app.use('/v1/*', async (c, next) => {
    c.set('client', clientInfo(c, deps.config.TRUST_PROXY));
    await next();
  });
  const jsonBodyLimit = bodyLimit({
    maxSize: MAX_JSON_BODY_BYTES,
    onError: () => {
      throw ApiError.tooLarge(`request body over ${MAX_JSON_BODY_BYTES} bytes`);
    },
  });
  // A package upload streams to disk under its own limit (MAX_PACKAGE_BYTES), never buffered.
  app.use('/v1/*', (c, next) => (packages.isPackageUpload(c.req.method, c.req.path) ? next() : jsonBodyLimit(c, next)));

  for (const register of ROUTE_MODULES) register(app, deps);
  registerDocs(app);
  // The web console at /console/ (GET / redirects there): pages over the /v1 routes above.
  mountConsole(app, deps);
  return app;
}

/** The package files of a deployment: DATA_DIR/packages, copies in BACKUP_DIR/packages, MAX_PACKAGE_BYTES. */
export function createPackageStorage(deps: Pick<CoreDeps, 'config' | 'log'>, metrics?: Metrics): PackageStorage {
  return new PackageStorage({
    dataDir: deps.config.DATA_DIR,
    backupDir: backupDir(deps.config),
    maxBytes: deps.config.MAX_PACKAGE_BYTES,
    log: deps.log,
    metrics,
  });
}
