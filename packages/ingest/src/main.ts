import {
  ConfigError,
  createLogger,
  DATABASES,
  databasePath,
  httpTimeouts,
  migrateUp,
  onShutdown,
  openDatabase,
  startServer,
  type Logger,
} from '@mosis/shared';
import { createIngest, SERVICE_NAME, type IngestService } from './app.js';
import { loadIngestConfig, type IngestConfig } from './config.js';
import { loadJobsConfig, startScheduledJobs, type ScheduledJobs } from './jobs/index.js';
import { openTelemetry, type PgTelemetryBackend } from './store/backend.js';
import { startPgScheduledJobs } from './store/postgres/scheduler.js';

/** The write path and the scheduled jobs on one telemetry store, and how to close that store. */
interface Started {
  ingest: IngestService;
  jobs: ScheduledJobs;
  closeStore(): unknown;
}

/** Starts ingest: config, the telemetry store (migrated), the write path, the HTTP server, and shutdown on SIGTERM. */
async function main(): Promise<void> {
  const config = loadIngestConfig();
  const log = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  // Chosen once: TELEMETRY_DATABASE_URL set puts telemetry on PostgreSQL, unset keeps telemetry.db.
  const backend = await openTelemetry(config, { log });
  const { ingest, jobs, closeStore } = backend.kind === 'postgres' ? onPostgres(config, log, backend) : await onSqlite(config, log);

  const server = await startServer(ingest.app.fetch, config.INGEST_PORT, config.HOST, httpTimeouts(config));
  log.info('listening', { port: server.port, data_dir: config.DATA_DIR, telemetry: backend.kind });

  // SIGTERM: refuse new requests, let the ones in flight finish (their rows commit), commit anything
  // still queued, then close the store.
  onShutdown(log, [
    () => ingest.stopAccepting(),
    () => jobs.stop(),
    () => server.close(),
    () => ingest.close(),
    closeStore,
  ]);
}

/** telemetry.db: ingest is its one writer; rollup and retention write between group commits. */
async function onSqlite(config: IngestConfig, log: Logger): Promise<Started> {
  const telemetry = openDatabase(databasePath(config.DATA_DIR, 'telemetry'), { litestream: config.LITESTREAM });
  if (config.MIGRATE_ON_START) {
    const applied = await migrateUp(telemetry, DATABASES.telemetry.migrations);
    if (applied.length) log.info('migrated telemetry.db', { applied });
  }
  const ingest = createIngest({ config, telemetry, log });
  const jobs = startScheduledJobs({ db: telemetry, dbPath: telemetry.name, config: loadJobsConfig(), log, exclusive: (fn) => ingest.writer.exclusive(fn) });
  return { ingest, jobs, closeStore: () => telemetry.close() };
}

/** PostgreSQL: several ingest processes may write at once; the maintenance lease picks one per job run. */
function onPostgres(config: IngestConfig, log: Logger, backend: PgTelemetryBackend): Started {
  const ingest = createIngest({ config, postgres: backend, log });
  const jobs = startPgScheduledJobs({ maintenance: backend.maintenance, config: loadJobsConfig(), log });
  return { ingest, jobs, closeStore: () => backend.close() };
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(`${SERVICE_NAME}: ${err.message}`);
  else console.error(`${SERVICE_NAME}: failed to start:`, err);
  process.exit(1);
});
