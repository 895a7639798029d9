import { createLogger, DATABASES, databasePath, freePort, migrateUp, openDatabase, spawnNode, tempDir, waitForHttp, type ChildHandle, type DB } from '@mosis/shared';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { PortalAppCache } from './apps/app-cache.js';
import { createIngest, type IngestService } from './app.js';
import { loadIngestConfig } from './config.js';
import { SqliteTelemetryWriter } from './store/sqlite/writer.js';

/** Test helpers for ingest: a fresh service on temp databases, portal apps, request builders. */

/** Creates portal.db in `dataDir` (migrated) with one developer and the given apps. */
export async function seedPortal(dataDir: string, apps: Array<{ packageId: string; status?: string; id?: string }>): Promise<DB> {
  const portal = openDatabase(databasePath(dataDir, 'portal'));
  await migrateUp(portal, DATABASES.portal.migrations);
  portal.prepare("INSERT OR IGNORE INTO developers (id, email, name) VALUES ('dev-1', 'dev@example.com', 'Dev')").run();
  const insert = portal.prepare(
    "INSERT INTO apps (id, developer_id, package_id, name, status) VALUES (?, 'dev-1', ?, ?, ?)",
  );
  for (const a of apps) insert.run(a.id ?? randomUUID(), a.packageId, a.packageId, a.status ?? 'published');
  return portal;
}

export interface TestIngest extends IngestService {
  /** portal.db's app cache (these tests run ingest in SQLite mode). */
  apps: PortalAppCache;
  /** On telemetry.db: the writer thread's store. */
  store: SqliteTelemetryWriter;
  dataDir: string;
  telemetry: DB;
  portal: DB | undefined;
  /** POSTs JSON (or raw bytes) through the real app. */
  post(path: string, body: unknown, opts?: { gzip?: boolean; headers?: Record<string, string>; raw?: Buffer | string }): Promise<Response>;
  /** Count of rows in a view (`telemetry_events` or `crash_reports`). */
  count(view?: 'telemetry_events' | 'crash_reports'): number;
  stop(): Promise<void>;
}

/**
 * A fresh ingest service on a temp DATA_DIR with portal.db holding `apps` (omit for no portal.db).
 * The app cache refreshes every 50 ms so tests see portal changes quickly.
 */
export async function startTestIngest(
  opts: {
    apps?: Array<{ packageId: string; status?: string; id?: string }>;
    env?: Record<string, string>;
    now?: () => number;
    dataDir?: string;
    /** Holds commits while true: requests queue up and then commit together (see GroupCommitWriter.when). */
    hold?: () => boolean;
    /** The writer thread waits before each commit while `writerGate[0]` is 0. */
    writerGate?: Int32Array;
    /** Receives the service's log lines at `info` and above (silent otherwise). */
    log?: (line: string) => void;
  } = {},
): Promise<TestIngest> {
  const dir = opts.dataDir ? undefined : tempDir('mosis-ingest-');
  const dataDir = opts.dataDir ?? dir!.path;
  const portal = opts.apps ? await seedPortal(dataDir, opts.apps) : undefined;
  const config = loadIngestConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', APP_CACHE_REFRESH_MS: '50', ...opts.env });
  const telemetry = openDatabase(databasePath(dataDir, 'telemetry'), { litestream: config.LITESTREAM });
  await migrateUp(telemetry, DATABASES.telemetry.migrations);
  const service = createIngest({ config, telemetry, log: opts.log ? createLogger('ingest', 'info', opts.log) : createLogger('ingest', 'silent'), ...(opts.now && { now: opts.now }), ...(opts.hold && { hold: opts.hold }), ...(opts.writerGate && { writerGate: opts.writerGate }) });
  if (!(service.store instanceof SqliteTelemetryWriter)) throw new Error('startTestIngest: expected the SQLite writer');
  return {
    ...service,
    apps: service.apps as PortalAppCache,
    store: service.store,
    dataDir,
    telemetry,
    portal,
    post(path, body, o = {}) {
      let payload: Buffer | string = o.raw ?? JSON.stringify(body);
      const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers };
      if (o.gzip) {
        payload = gzipSync(payload);
        headers['content-encoding'] ??= 'gzip';
      }
      // As real clients do (app.request() would not): the body budget reserves by declared length.
      headers['content-length'] ??= String(Buffer.byteLength(payload));
      return Promise.resolve(service.app.request(path, { method: 'POST', headers, body: payload }));
    },
    count(view = 'telemetry_events') {
      // The views appear with the first partition.
      if (!telemetry.prepare("SELECT 1 FROM sqlite_master WHERE name = ?").get(view)) return 0;
      return (telemetry.prepare(`SELECT count(*) AS n FROM ${view}`).get() as { n: number }).n;
    },
    async stop() {
      await service.close();
      telemetry.close();
      portal?.close();
      dir?.cleanup();
    },
  };
}

/** A valid event for `app`, stamped now unless given. */
export function event(app: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: randomUUID(),
    app,
    device_id: 'device-1',
    event_type: 'app_open',
    timestamp: new Date().toISOString(),
    mosis_version: '1.4.2',
    data: { screen: 'home' },
    ...over,
  };
}

/** A valid crash report for `app`. */
export function crash(app: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    crash_id: randomUUID(),
    app,
    app_version: '1.2.0',
    device_id: 'device-1',
    crash_type: 'native_signal',
    message: 'SIGSEGV',
    stack_trace: '#00 pc 000000000004a8c0  /system/lib64/libc.so (abort+164)\n#01 pc 0000000000012345  /data/app/libgame.so (render+20)',
    context: { memory_mb: 512 },
    mosis_version: '1.4.2',
    timestamp: new Date().toISOString(),
    ...over,
  };
}

/** The built service: child-process tests run it (build first: `tsc -b packages/ingest`). */
export const INGEST_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** Starts dist/main.js on `dataDir` and waits until it is ready. */
export async function spawnIngest(dataDir: string, env: Record<string, string> = {}): Promise<ChildHandle & { url: string }> {
  const port = await freePort();
  const handle = spawnNode(INGEST_MAIN, [], { DATA_DIR: dataDir, INGEST_PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/readyz`, 20_000);
  } catch (err) {
    handle.child.kill('SIGKILL');
    throw new Error(`ingest did not start: ${(err as Error).message}\n${handle.output()}`, { cause: err });
  }
  return { ...handle, url };
}
