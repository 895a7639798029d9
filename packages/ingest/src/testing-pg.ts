import { createLogger, type Logger } from '@mosis/shared';
import { createIngest, type IngestService } from './app.js';
import { loadIngestConfig } from './config.js';
import { openTelemetry, type PgTelemetryBackend } from './store/backend.js';
import { PgAppRegistryPublisher } from './store/postgres/app-registry.js';
import { openPgPool, type PgPool } from './store/postgres/pool.js';
import { createTestPgDatabase, type TestPgDatabase } from './store/postgres/testing.js';

/** An ingest app in process on a fresh PostgreSQL database of the test server, without portal.db. */
export interface PgTestIngest {
  ingest: IngestService;
  backend: PgTelemetryBackend;
  /** A pool of the test's own on the database (the registry, checks). */
  pool: PgPool;
  db: TestPgDatabase;
  /** POST /v1/events with these events. */
  postEvents(events: object[]): Promise<Response>;
  /** Ends the app, the backend and the pool; drops the database unless it is gone already. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts ingest on PostgreSQL as main.ts does (openTelemetry migrates the database), with `apps` published
 * in the app registry the way the core API publishes them. `dataDir`: a temp dir of the test's.
 */
export async function startPgTestIngest(opts: { dataDir: string; apps: Array<{ id: string; packageId: string }>; log?: Logger }): Promise<PgTestIngest> {
  const db = await createTestPgDatabase();
  const config = loadIngestConfig({ DATA_DIR: opts.dataDir, LOG_LEVEL: 'silent', TELEMETRY_DATABASE_URL: db.url });
  const log = opts.log ?? createLogger('ingest', 'silent');
  const backend = (await openTelemetry(config, { log })) as PgTelemetryBackend;
  const ingest = createIngest({ config, postgres: backend, log });
  const pool = openPgPool(db.url, { applicationName: 'mosis-test' });
  await new PgAppRegistryPublisher(pool).publish(opts.apps.map((a) => ({ ...a, status: 'published' })));
  let stopped: Promise<void> | undefined;
  return {
    ingest,
    backend,
    pool,
    db,
    postEvents: async (events) =>
      ingest.app.request('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) }),
    stop: () =>
      (stopped ??= (async () => {
        await ingest.close();
        await backend.close();
        await pool.end();
        await db.drop().catch(() => {});
      })()),
  };
}
