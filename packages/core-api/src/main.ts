import {
  ConfigError,
  createLogger,
  createMetrics,
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
import { openPgAppRegistryPublisher, openPgTelemetryReads, openSqliteTelemetryReads, readDeviceSecret } from '@mosis/ingest';
import { AppRegistryFeed } from './app-registry.js';
import { createCoreApp, createPackageStorage, SERVICE_NAME } from './app.js';
import { loadCoreConfig, packageGcGraceMs, type CoreConfig } from './config.js';
import { startPackageGc } from './package-files/gc.js';

/**
 * Starts the core API: portal.db (migrated), the HTTP server, the package GC. In its own process (`main`
 * below) or in the launcher's, beside ingest; `stop()` answers what is in flight and closes the databases.
 */
export async function startCore(config: CoreConfig = loadCoreConfig()): Promise<ServiceHandle> {
  const log = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  const portal = openDatabase(databasePath(config.DATA_DIR, 'portal'), { litestream: config.LITESTREAM });
  if (config.MIGRATE_ON_START) {
    const applied = await migrateUp(portal, DATABASES.portal.migrations);
    if (applied.length) log.info('migrated portal.db', { applied });
  }

  // Telemetry belongs to ingest: telemetry.db may not exist yet (the reads open it read-only on first use),
  // nor PostgreSQL's schema (reads answer empty until ingest migrates it). So may the device-hash secret,
  // which ingest creates on its first start: read it once it is there.
  let deviceSecret: string | undefined;
  const readsOpts = {
    deviceSecret: () => (deviceSecret ??= readDeviceSecret(config.DATA_DIR, config.DEVICE_HASH_SECRET)),
    retentionDays: config.RETENTION_DAYS,
  };
  const telemetry = config.TELEMETRY_DATABASE_URL
    ? openPgTelemetryReads({ ...readsOpts, url: config.TELEMETRY_DATABASE_URL })
    : openSqliteTelemetryReads({ ...readsOpts, path: databasePath(config.DATA_DIR, 'telemetry') });
  log.info('telemetry reads', { backend: config.TELEMETRY_DATABASE_URL ? 'postgres' : 'sqlite' });

  const metrics = createMetrics(SERVICE_NAME);
  const packages = createPackageStorage({ config, log }, metrics);
  const swept = packages.sweepTemp();
  if (swept) log.info('removed temp files of interrupted uploads', { count: swept });
  // Ingest processes on other machines learn apps from the telemetry PostgreSQL, not portal.db.
  const appRegistry = config.TELEMETRY_DATABASE_URL ? await new AppRegistryFeed(portal, openPgAppRegistryPublisher(config.TELEMETRY_DATABASE_URL), log).start() : undefined;
  const app = createCoreApp({ config, portal, telemetry, log, metrics, packages, ...(appRegistry && { appRegistry }) });
  // At rest the page caches of both connections go back (they fill again from the OS file cache).
  const idle = releaseWhenIdle({ log, release: () => (releaseCacheMemory(portal), telemetry.releaseMemory()) });
  const server = await startServer(touching(app.fetch, idle), config.CORE_PORT, config.HOST, httpTimeouts(config));
  log.info('listening', { port: server.port, data_dir: config.DATA_DIR });
  const gc = startPackageGc({ storage: packages, db: portal, log, graceMs: packageGcGraceMs(config) });

  return {
    name: SERVICE_NAME,
    stop: stopInOrder(log, [() => server.close(), () => idle.stop(), () => gc.stop(), () => appRegistry?.stop(), () => telemetry.close(), () => portal.close()]),
  };
}

/** The core API in a process of its own: it stops on SIGTERM or SIGINT. */
async function main(): Promise<void> {
  const config = loadCoreConfig();
  exitOnSignal(await startCore(config), createLogger(SERVICE_NAME, config.LOG_LEVEL));
}

if (isMainModule(import.meta.url)) {
  main().catch((err) => {
    if (err instanceof ConfigError) console.error(`${SERVICE_NAME}: ${err.message}`);
    else console.error(`${SERVICE_NAME}: failed to start:`, err);
    process.exit(1);
  });
}
