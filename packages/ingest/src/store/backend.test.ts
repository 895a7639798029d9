import { ConfigError, createLogger } from '@mosis/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIngestConfig } from '../config.js';
import { DEFAULT_PRUNE_SCHEDULE, startScheduledJobs } from '../jobs/scheduler.js';
import { eventRecord } from './contract/backends.js';
import { openTelemetry, type PgTelemetryBackend } from './backend.js';
import { openPgPool } from './postgres/pool.js';
import { createTestPgDatabase, describePg, type TestPgDatabase } from './postgres/testing.js';

describe('TELEMETRY_DATABASE_URL', () => {
  it('is optional (SQLite), empty means unset, and anything but a postgres URL is refused by name', async () => {
    expect(loadIngestConfig({}).TELEMETRY_DATABASE_URL).toBeUndefined();
    expect(loadIngestConfig({ TELEMETRY_DATABASE_URL: '' }).TELEMETRY_DATABASE_URL).toBeUndefined();
    expect(loadIngestConfig({ TELEMETRY_DATABASE_URL: 'postgresql://u:p@db:5432/t' }).TELEMETRY_DATABASE_URL).toBe('postgresql://u:p@db:5432/t');
    const err = (() => {
      try {
        loadIngestConfig({ TELEMETRY_DATABASE_URL: 'mysql://u@db/t', TELEMETRY_PG_POOL_MAX: '1' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.problems.map((p) => p.split(':')[0]).sort()).toEqual(['TELEMETRY_DATABASE_URL', 'TELEMETRY_PG_POOL_MAX']);
    expect(await openTelemetry(loadIngestConfig({}), { log: createLogger('test', 'silent') })).toEqual({ kind: 'sqlite' });
  });
});

describePg('openTelemetry on PostgreSQL, two ingest processes', () => {
  let db: TestPgDatabase;
  const open: PgTelemetryBackend[] = [];
  const lines: string[] = [];
  const log = createLogger('test', 'debug', (l) => void lines.push(l));
  beforeAll(async () => {
    db = await createTestPgDatabase();
  });
  afterAll(async () => {
    for (const b of open) await b.close();
    await db?.drop();
  });
  const config = (env: Record<string, string> = {}) => loadIngestConfig({ TELEMETRY_DATABASE_URL: db.url, ...env });

  it('refuses to start on an unmigrated database when MIGRATE_ON_START=false, naming what is pending', async () => {
    await expect(openTelemetry(config({ MIGRATE_ON_START: 'false' }), { log })).rejects.toThrow(/migrations pending \(0001_telemetry_pg, 0002_copy_from_sqlite\)/);
  });

  it('two processes starting at once migrate once; both write; both schedulers run their jobs without error', async () => {
    const both = (await Promise.all([openTelemetry(config(), { log }), openTelemetry(config(), { log })])) as PgTelemetryBackend[];
    open.push(...both);
    expect(both.map((b) => b.kind)).toEqual(['postgres', 'postgres']);
    expect(await both[0]!.ready()).toBe(true);
    const res = await Promise.all(both.map((b, i) => b.writer.write([{ kind: 'events', rows: Array.from({ length: 50 }, () => eventRecord({ appId: `proc-${i}`, deviceHash: BigInt(i + 1) })) }])));
    expect(res).toEqual([[{ stored: 50, duplicates: 0 }], [{ stored: 50, duplicates: 0 }]]);

    // Both processes' schedulers run the jobs at once (the lease itself: postgres/maintenance.test.ts).
    const schedule = { ROLLUP_SCHEDULE: '0 0 1 1 *', PRUNE_SCHEDULE: DEFAULT_PRUNE_SCHEDULE, RETENTION_DAYS: 90 };
    const jobs = both.map((b) => startScheduledJobs({ maintenance: b.maintenance, config: schedule, log, busyLogLevel: 'debug' }));
    try {
      await Promise.all(jobs.map((j) => j.run('rollup')));
      await Promise.all(jobs.map((j) => j.run('prune')));
    } finally {
      for (const j of jobs) await j.stop();
    }
    expect(lines.filter((l) => JSON.parse(l).level === 'error')).toEqual([]);
    const runs = await both[1]!.maintenance.jobRuns();
    expect(runs.map((r) => [r.job, r.ok])).toEqual([['prune', 1], ['rollup', 1]]);
    // The rollup waited out the settle delay, so both processes' rows are in the aggregates, once.
    const pool = openPgPool(db.url);
    try {
      const sum = await pool.query<{ n: bigint }>('SELECT sum(count)::bigint AS n FROM telemetry_daily');
      expect(sum.rows[0]!.n).toBe(100n);
    } finally {
      await pool.end();
    }
  });
});
