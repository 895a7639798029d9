import {
  ConfigError,
  createLogger,
  DATABASES,
  databasePath,
  exitOnSignal,
  httpTimeouts,
  isMainModule,
  migrateUp,
  openDatabase,
  releaseCacheMemory,
  releaseWhenIdle,
  startServer,
  stopInOrder,
  touching,
  touchingDirect,
  type Logger,
  type ServiceHandle,
} from '@mosis/shared';
import { createIngest, SERVICE_NAME, type IngestService } from './app.js';
import { loadIngestConfig, type IngestConfig } from './config.js';
import { loadJobsConfig, startScheduledJobs, type ScheduledJobs } from './jobs/index.js';
import { openTelemetry, type PgTelemetryBackend } from './store/backend.js';

/** The write path and the scheduled jobs on one telemetry store, what to free at rest, how to close the store. */
interface Started {
  ingest: IngestService;
  jobs: ScheduledJobs;
  release(): Promise<void>;
  closeStore(): unknown;
}

/**
 * Starts ingest: config, the telemetry store (migrated), the write path, the scheduled jobs, the HTTP
 * server. In its own process (`main` below) or in the launcher's, beside the core API.
 */
export async function startIngest(config: IngestConfig = loadIngestConfig()): Promise<ServiceHandle> {
  const log = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  // Chosen once: TELEMETRY_DATABASE_URL set puts telemetry on PostgreSQL, unset keeps telemetry.db.
  const backend = await openTelemetry(config, { log });
  const { ingest, jobs, release, closeStore } = backend.kind === 'postgres' ? onPostgres(config, log, backend) : await onSqlite(config, log);

  const idle = releaseWhenIdle({ log, release });
  const server = await startServer(touching(ingest.app.fetch, idle), config.INGEST_PORT, config.HOST, httpTimeouts(config), touchingDirect(ingest.direct, idle));
  log.info('listening', { port: server.port, data_dir: config.DATA_DIR, telemetry: backend.kind });

  // stop(): refuse new requests, let the ones in flight finish (their rows commit), commit anything
  // still queued, then close the store.
  return {
    name: SERVICE_NAME,
    stop: stopInOrder(log, [
      () => ingest.stopAccepting(),
      () => jobs.stop(),
      () => idle.stop(),
      () => server.close(),
      () => ingest.close(),
      closeStore,
    ]),
  };
}

/** telemetry.db: ingest is its one writer; rollup and retention write between group commits. */
async function onSqlite(config: IngestConfig, log: Logger): Promise<Started> {
  const telemetry = openDatabase(databasePath(config.DATA_DIR, 'telemetry'), { litestream: config.LITESTREAM });
  if (config.MIGRATE_ON_START) {
    const applied = await migrateUp(telemetry, DATABASES.telemetry.migrations);
    if (applied.length) log.info('migrated telemetry.db', { applied });
  }
  const ingest = createIngest({ config, telemetry, log });
  const jobs = startScheduledJobs({ maintenance: ingest.maintenance, config: loadJobsConfig(), log });
  return {
    ingest,
    jobs,
    // At rest: the main connection's page cache goes back, the writer thread ends once its last commit is
    // done (the next request's rows start it again), and so does the jobs' reader thread (a rollup with
    // rows to fold starts it again).
    release: async () => {
      releaseCacheMemory(telemetry);
      await ingest.store.close();
      await jobs.rest();
    },
    closeStore: () => telemetry.close(),
  };
}

/** PostgreSQL: several ingest processes may write at once; the maintenance lease picks one per job run. */
function onPostgres(config: IngestConfig, log: Logger, backend: PgTelemetryBackend): Started {
  const ingest = createIngest({ config, postgres: backend, log });
  // Every process ticks; the one that takes the lease runs the job, the others skip quietly.
  const jobs = startScheduledJobs({ maintenance: ingest.maintenance, config: loadJobsConfig(), log, busyLogLevel: 'debug' });
  // The pool ends its idle connections by itself: nothing more to free at rest.
  return { ingest, jobs, release: async () => {}, closeStore: () => backend.close() };
}

/** Ingest in a process of its own: it stops on SIGTERM or SIGINT. */
async function main(): Promise<void> {
  const config = loadIngestConfig();
  exitOnSignal(await startIngest(config), createLogger(SERVICE_NAME, config.LOG_LEVEL));
}

if (isMainModule(import.meta.url)) {
  main().catch((err) => {
    if (err instanceof ConfigError) console.error(`${SERVICE_NAME}: ${err.message}`);
    else console.error(`${SERVICE_NAME}: failed to start:`, err);
    process.exit(1);
  });
}
