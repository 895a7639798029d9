import type { OpenAPIHono } from '@hono/zod-openapi';
import {
  createMetrics,
  createServiceApp,
  databasePath,
  mountDocs,
  mountOperationalRoutes,
  registerDatabaseMetrics,
  type DB,
  type DirectHandler,
  type Logger,
  type Metrics,
} from '@mosis/shared';
import { PortalAppCache, type AppLookup } from './apps/app-cache.js';
import { RegistryAppCache } from './apps/registry-cache.js';
import { openPgAppSource } from './store/postgres/app-registry.js';
import { BodyBudget } from './http/body-budget.js';
import { directRoutes } from './http/direct.js';
import type { IngestConfig } from './config.js';
import { MAX_BATCH_CRASHES, MAX_BATCH_EVENTS, MAX_CRASHES_BODY_BYTES, MAX_EVENTS_BODY_BYTES } from './limits.js';
import { DAY_MS } from './days.js';
import { registerJobMetrics } from './jobs/metrics.js';
import { createIngestMetrics } from './metrics.js';
import { DeviceHasher, loadDeviceSecret } from './privacy/device-hash.js';
import { handleBatch, honoBatch, type BatchDeps } from './routes/batch-handler.js';
import { crashesRoute, eventsRoute } from './routes/docs.js';
import type { PgTelemetryBackend } from './store/backend.js';
import type { TelemetryMaintenance } from './store/maintenance.js';
import { pgSink } from './store/postgres/sink.js';
import { openSqliteSink } from './store/sqlite/sink.js';
import type { Checkpointer } from './store/sqlite/checkpointer.js';
import type { TelemetrySink, TelemetryWriter } from './store/types.js';
import { toCrashRecord } from './validation/crashes.js';
import { toEventRecord } from './validation/events.js';
import { GroupCommitWriter } from './write/group-commit.js';

export const SERVICE_NAME = 'ingest';
export const API_VERSION = '1.0.0';

export interface IngestDeps {
  config: IngestConfig;
  /** telemetry.db, read-write (SQLite mode): ingest is its only writer. */
  telemetry?: DB;
  /** Telemetry on PostgreSQL (openTelemetry with TELEMETRY_DATABASE_URL set), instead of `telemetry`. */
  postgres?: PgTelemetryBackend;
  log: Logger;
  metrics?: Metrics;
  /** Server clock (tests move it). */
  now?: () => number;
  /** Holds commits while true, on top of the WAL's own holds (tests use it to queue requests deterministically). */
  hold?: () => boolean;
  /** Tests: the writer thread waits before each commit while `writerGate[0]` is 0 (see SqliteTelemetryWriter). */
  writerGate?: Int32Array;
}

/** The ingest service's parts: its HTTP app and the write path behind it. */
export interface IngestService {
  app: OpenAPIHono;
  /**
   * `POST /v1/events` and `/v1/crashes` served straight from node:http (startServer's `direct`), by the same
   * handlers as the app's routes; the app serves everything else, and these too in app.request().
   */
  direct: DirectHandler;
  /** Bytes of request bodies being read right now (bounded by INGEST_MAX_BODY_BYTES_IN_FLIGHT). */
  budget: BodyBudget;
  /**
   * The write queue; on SQLite its commits run in the store's writer thread, and other writes (rollup,
   * retention) run through `writer.exclusive(fn)` on `telemetry`, never while a commit is in flight.
   */
  writer: GroupCommitWriter;
  store: TelemetryWriter;
  /** Rollup and retention on the same store (the scheduler runs them; main starts it). */
  maintenance: TelemetryMaintenance;
  /** The apps: portal.db's (PortalAppCache), or with TELEMETRY_DATABASE_URL what the core API publishes (RegistryAppCache). */
  apps: AppLookup;
  /** The WAL checkpoints' thread; absent under Litestream (which checkpoints) and on PostgreSQL. */
  checkpointer: Checkpointer | undefined;
  /** Shutdown step 1: new requests get 503 (and `Connection: close`); requests already reading go on. */
  stopAccepting(): void;
  /** Shutdown step 2, once the HTTP server has answered everything: commit what is queued, stop timers. */
  close(): Promise<void>;
}

/** Builds ingest: app cache over portal.db, device hasher, store, group-commit writer, routes. */
export function createIngest(deps: IngestDeps): IngestService {
  const { config, log } = deps;
  const metrics = deps.metrics ?? createMetrics(SERVICE_NAME);
  registerDatabaseMetrics(metrics, { telemetry: () => deps.telemetry });

  const apps = config.TELEMETRY_DATABASE_URL ? registryApps(config.TELEMETRY_DATABASE_URL, log, deps.now) : new PortalAppCache(databasePath(config.DATA_DIR, 'portal'), log, deps.now).start(config.APP_CACHE_REFRESH_MS);
  const hasher = new DeviceHasher(loadDeviceSecret(config.DATA_DIR, config.DEVICE_HASH_SECRET));
  let writer: GroupCommitWriter | undefined;
  const budget = new BodyBudget(config.INGEST_MAX_BODY_BYTES_IN_FLIGHT);
  const ingestMetrics = createIngestMetrics(metrics, () => writer, apps, () => budget.inUse);
  const sqlite =
    deps.telemetry && !deps.postgres
      ? openSqliteSink(deps.telemetry, {
          log,
          litestream: config.LITESTREAM,
          cacheMiB: config.TELEMETRY_CACHE_MIB,
          maxEventTypesPerApp: config.MAX_EVENT_TYPES_PER_APP,
          walMaxBytes: config.INGEST_WAL_MAX_MIB * 1024 * 1024,
          exclusive: (fn) => writer!.exclusive(fn),
          ...(deps.now && { now: deps.now }),
          ...(deps.writerGate && { gate: deps.writerGate }),
        })
      : undefined;
  const sink: TelemetrySink | undefined = deps.postgres ? pgSink(deps.postgres) : sqlite;
  if (!sink) throw new Error('createIngest: give `telemetry` (telemetry.db) or `postgres` (openTelemetry)');
  registerJobMetrics(metrics, sink.maintenance);
  const { store } = sink;
  // Tests' hold first, then the store's own.
  const holds = [deps.hold, sink.hold].filter((h) => h !== undefined);
  writer = new GroupCommitWriter(
    store,
    {
      maxQueuedEvents: config.INGEST_QUEUE_MAX_EVENTS,
      maxQueuedBytes: config.INGEST_QUEUE_MAX_BYTES,
      flushMaxEvents: config.INGEST_FLUSH_MAX_EVENTS,
      flushIntervalMs: config.INGEST_FLUSH_INTERVAL_MS,
      ...(holds.length > 0 && { hold: () => holds.some((h) => h()) }),
      ...(sink.holdPollMs !== undefined && { holdPollMs: sink.holdPollMs }),
    },
    log,
    (s) => ingestMetrics.recordFlush(s),
  );

  let stopping = false;
  const app = createServiceApp(log, metrics);
  app.use('/v1/*', async (c, next) => {
    await next();
    // While stopping, answered keep-alive connections close, so the server's close() can finish.
    if (stopping) c.header('Connection', 'close');
  });

  const batch: BatchDeps = { apps, hasher, writer, budget, metrics: ingestMetrics, stopping: () => stopping, retentionMs: config.RETENTION_DAYS * DAY_MS, ...(deps.now && { now: deps.now }) };
  const events = handleBatch({ kind: 'events', maxBodyBytes: MAX_EVENTS_BODY_BYTES, maxItems: MAX_BATCH_EVENTS, toRecord: toEventRecord }, batch);
  const crashes = handleBatch({ kind: 'crashes', maxBodyBytes: MAX_CRASHES_BODY_BYTES, maxItems: MAX_BATCH_CRASHES, toRecord: toCrashRecord }, batch);
  app.openAPIRegistry.registerPath(eventsRoute);
  app.post(eventsRoute.path, honoBatch(events));
  app.openAPIRegistry.registerPath(crashesRoute);
  app.post(crashesRoute.path, honoBatch(crashes));
  const direct = directRoutes(
    [
      { path: eventsRoute.path, handle: events },
      { path: crashesRoute.path, handle: crashes },
    ],
    { log, metrics, stopping: () => stopping },
  );

  mountOperationalRoutes(app, {
    metrics,
    title: 'Mosis telemetry ingest',
    version: API_VERSION,
    description: 'Device events and crash reports.',
    ready: [sink.ready, { name: 'queue', ok: () => !writer.saturated }],
  });
  mountDocs(app);

  return {
    app,
    direct,
    budget,
    writer,
    store,
    maintenance: sink.maintenance,
    apps,
    checkpointer: sqlite?.checkpointer,
    stopAccepting: () => {
      stopping = true;
    },
    close: async () => {
      stopping = true;
      await writer.close();
      await sink.close();
      await apps.stop();
    },
  };
}

/**
 * Apps from the telemetry PostgreSQL's registry. Loading starts now and is not awaited: until it is done,
 * every package id is a miss, read in one indexed query per request (BatchDeps.apps.prepare).
 */
function registryApps(url: string, log: Logger, now?: () => number): RegistryAppCache {
  const apps = new RegistryAppCache(openPgAppSource(url), log, now ? { now } : {});
  void apps.start();
  return apps;
}

/** Builds the ingest app alone (tests that only need HTTP). */
export function createIngestApp(deps: IngestDeps): OpenAPIHono {
  return createIngest(deps).app;
}
