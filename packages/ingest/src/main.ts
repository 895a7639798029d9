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
  type ServiceHandle,
} from '@mosis/shared';
import { createIngest, SERVICE_NAME } from './app.js';
import { loadIngestConfig, type IngestConfig } from './config.js';
import { loadJobsConfig, startScheduledJobs } from './jobs/index.js';

/**
 * Starts ingest: telemetry.db (migrated), the write path, the scheduled jobs, the HTTP server. In its own
 * process (`main` below) or in the launcher's, beside the core API.
 */
export async function startIngest(config: IngestConfig = loadIngestConfig()): Promise<ServiceHandle> {
  const log = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  const telemetry = openDatabase(databasePath(config.DATA_DIR, 'telemetry'), { litestream: config.LITESTREAM });
  if (config.MIGRATE_ON_START) {
    const applied = await migrateUp(telemetry, DATABASES.telemetry.migrations);
    if (applied.length) log.info('migrated telemetry.db', { applied });
  }

  const ingest = createIngest({ config, telemetry, log });
  // Rollup and retention on their schedules; their writes run between group commits.
  const jobs = startScheduledJobs({ db: telemetry, dbPath: telemetry.name, config: loadJobsConfig(), log, exclusive: (fn) => ingest.writer.exclusive(fn) });

  // At rest: the main connection's page cache goes back, the writer thread ends once its last commit is
  // done (the next request's rows start it again), and so does the jobs' reader thread (a rollup with rows
  // to fold starts it again).
  const idle = releaseWhenIdle({ log, release: async () => (releaseCacheMemory(telemetry), await ingest.store.close(), await jobs.rest()) });
  const server = await startServer(touching(ingest.app.fetch, idle), config.INGEST_PORT, config.HOST, httpTimeouts(config));
  log.info('listening', { port: server.port, data_dir: config.DATA_DIR });

  // stop(): refuse new requests, let the ones in flight finish (their rows commit), commit anything
  // still queued, then close the database.
  return {
    name: SERVICE_NAME,
    stop: stopInOrder(log, [
      () => ingest.stopAccepting(),
      () => jobs.stop(),
      () => idle.stop(),
      () => server.close(),
      () => ingest.close(),
      () => telemetry.close(),
    ]),
  };
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
