import type { OpenAPIHono } from '@hono/zod-openapi';
import type { TelemetryReads } from '@mosis/ingest';
import type { DB, Logger, Metrics } from '@mosis/shared';
import type { Context } from 'hono';
import type { Permission } from './auth/permissions.js';
import type { ClientInfo } from './client.js';
import type { CoreConfig } from './config.js';
import type { Tuning } from './limits.js';
import type { PackageStorage } from './package-files/storage.js';

/** What the core API is built from; every route module receives it. */
export interface CoreDeps {
  config: CoreConfig;
  /** portal.db, read-write. */
  portal: DB;
  /**
   * What the analytics routes read of telemetry: the telemetry store's own reads (ingest's package owns the
   * tables; main.ts opens them on telemetry.db). `ready`, when the store has one, joins /readyz.
   */
  telemetry: TelemetryReads & { ready?: () => boolean };
  log: Logger;
  metrics?: Metrics;
  /** Tests turn the password hash cost and rate limits down; production uses DEFAULT_TUNING. */
  tuning?: Partial<Tuning>;
  /**
   * With TELEMETRY_DATABASE_URL: where app changes are published for ingest processes without portal.db
   * (app-registry.ts). Routes that change an app await `changed(id)` after their transaction.
   */
  appRegistry?: { changed(appId: string): Promise<void> };
  /** Package files (DATA_DIR/packages); createCoreApp makes one from the config when it is not given. */
  packages?: PackageStorage;
}

/** Who is calling: set by `requireAuth` on the request context. */
export interface Caller {
  developerId: string;
  /** `session` tokens have every permission; `api_key` callers have only `permissions`. */
  kind: 'session' | 'api_key';
  /** Id of the session or API key row that authenticated the request. */
  credentialId: string;
  permissions: readonly Permission[];
  /**
   * When an API key caller's key expires (null: never). Always null for a session: keys made in a login
   * session may outlive it; keys made by a key may not (see routes/api-keys.ts).
   */
  keyExpiresAt: string | null;
}

/** Hono environment of the core API: the caller (once authenticated) and the Node request (for the socket IP). */
export interface CoreEnv {
  Variables: { caller: Caller; client: ClientInfo };
  Bindings: { incoming?: { socket?: { remoteAddress?: string } } };
}

/** The core API's Hono app type; every route module registers on one of these. */
export type CoreApp = OpenAPIHono<CoreEnv>;

/**
 * A route module: one group of routes per file under routes/, registered by app.ts. To add one, export
 * `register(app, deps)` from `routes/<group>.ts` and list it in ROUTE_MODULES in app.ts.
 */
export type RouteModule = (app: CoreApp, deps: CoreDeps) => void;

/** Request context of a core API route. */
export type CoreContext = Context<CoreEnv>;

/** The authenticated caller; only valid behind `requireAuth` (it throws otherwise: a wiring bug). */
export function caller(c: Context<CoreEnv>): Caller {
  const who = c.get('caller');
  if (!who) throw new Error('caller() used on a route without requireAuth');
  return who;
}
