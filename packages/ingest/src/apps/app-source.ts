/**
 * Where an ingest process learns apps when it cannot read portal.db (another machine): a source the core
 * API publishes every app change into (store/postgres/app-registry.ts: app_registry in the telemetry
 * PostgreSQL). Asynchronous and driver-free, so RegistryAppCache (registry-cache.ts) knows no database.
 * In SQLite mode PortalAppCache (app-cache.ts) reads portal.db itself, synchronously, as before.
 */

/** An app as published: `status` is the portal's (draft, published, suspended), or `deleted`. */
export interface AppRecord {
  /** The portal's apps.id. */
  id: string;
  packageId: string;
  status: string;
}

/** A batch of published changes, oldest first, and the version to ask for changes after. */
export interface AppChanges {
  apps: AppRecord[];
  version: bigint;
}

export interface AppSource {
  /** Every app (deleted ones included, so their removal is known), and the version they are current at. */
  loadAll(): Promise<AppChanges>;
  /** What was published after `version`, oldest first (each change is visible in the order it was made). */
  changesSince(version: bigint): Promise<AppChanges>;
  /** The apps with these package ids, deleted ones included: one indexed read for the cache's misses. */
  lookup(packageIds: readonly string[]): Promise<AppRecord[]>;
  /** Calls `onChange` soon after each publication (LISTEN); resolves once listening, or once retrying in the background. Answers a stop function. */
  watch(onChange: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
