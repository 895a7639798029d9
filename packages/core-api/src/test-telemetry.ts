import { copyFromSqlite, createIngest, createInlineReader, ingestConfigSchema, rollup, type IngestService, type PgPool } from '@mosis/ingest';
import { createLogger, DATABASES, migrateUp, openDatabase, type DB } from '@mosis/shared';
import { TEST_DEVICE_SECRET, type TestApp } from './test-app.js';

/**
 * Telemetry for core API tests, written the way production writes it: events and crashes go through
 * ingest's real app (validation, device hash, group commit) into the test app's DATA_DIR (ingest finds the
 * apps the test created in its portal.db), and `rollUp()` runs the rollup on them, so the analytics routes
 * read what a deployment would. The one place that names the rollup's entry point.
 *
 * With `pg` (a telemetry PostgreSQL the test app reads through PgTelemetryReads), every write and rollup is
 * then copied there (copy-from-sqlite.ts, as `ops telemetry-migrate` does), so the same routes answer from
 * PostgreSQL over the same rows. (Until ingest's PostgreSQL writer is wired here, it writes telemetry.db first.)
 */
export interface TestTelemetry {
  /** telemetry.db, read-write (ingest's connection). */
  db: DB;
  ingest: IngestService;
  /** POSTs events to ingest; fails unless every one is accepted. */
  events(events: Array<Record<string, unknown>>): Promise<void>;
  crashes(crashes: Array<Record<string, unknown>>): Promise<void>;
  /** Folds everything stored so far into the aggregates. */
  rollUp(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestTelemetry(t: TestApp, opts: { now?: () => number; pg?: PgPool } = {}): Promise<TestTelemetry> {
  const db = openDatabase(t.telemetryPath);
  await migrateUp(db, DATABASES.telemetry.migrations);
  const config = ingestConfigSchema.parse({ DATA_DIR: t.dataDir, DEVICE_HASH_SECRET: TEST_DEVICE_SECRET, INGEST_FLUSH_INTERVAL_MS: '0', APP_CACHE_REFRESH_MS: '50' });
  const ingest = createIngest({ config, telemetry: db, log: createLogger('ingest-test', 'silent'), ...(opts.now && { now: opts.now }) });
  const post = async (path: string, key: 'events' | 'crashes', items: Array<Record<string, unknown>>) => {
    const body = JSON.stringify({ [key]: items });
    const res = await ingest.app.request(path, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, body });
    const answer = (await res.json()) as { accepted?: number; rejected?: unknown[] };
    if (res.status !== 202 || answer.accepted !== items.length) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(answer)}`);
    await toPg();
  };
  const toPg = async () => {
    if (opts.pg) await copyFromSqlite(db, opts.pg, { retentionDays: config.RETENTION_DAYS, allowUnfolded: true, ...(opts.now && { now: opts.now }) });
  };
  return {
    db,
    ingest,
    events: (events) => post('/v1/events', 'events', events),
    crashes: (crashes) => post('/v1/crashes', 'crashes', crashes),
    rollUp: async () => {
      await rollup({ db, reader: createInlineReader(db), ...(opts.now && { now: opts.now }) });
      await toPg();
    },
    close: async () => {
      await ingest.close();
      db.close();
    },
  };
}
