import {
  ConfigError,
  createLogger,
  DATABASES,
  databasePath,
  migrateUp,
  onShutdown,
  openDatabase,
  startServer,
} from '@mosis/shared';
import { createIngestApp, SERVICE_NAME } from './app.js';
import { loadIngestConfig } from './config.js';

/** Starts ingest: config, telemetry.db (migrated), the HTTP server, and shutdown on SIGTERM. */
async function main(): Promise<void> {
  const config = loadIngestConfig();
  const log = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  const telemetry = openDatabase(databasePath(config.DATA_DIR, 'telemetry'), { litestream: config.LITESTREAM });
  if (config.MIGRATE_ON_START) {
    const applied = await migrateUp(telemetry, DATABASES.telemetry.migrations);
    if (applied.length) log.info('migrated telemetry.db', { applied });
  }

  const app = createIngestApp({ config, telemetry, log });
  const server = await startServer(app.fetch, config.INGEST_PORT, config.HOST);
  log.info('listening', { port: server.port, data_dir: config.DATA_DIR });

  onShutdown(log, [() => server.close(), () => telemetry.close()]);
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(`${SERVICE_NAME}: ${err.message}`);
  else console.error(`${SERVICE_NAME}: failed to start:`, err);
  process.exit(1);
});
