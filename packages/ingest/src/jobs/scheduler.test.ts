import { createLogger, tempDir, type DB } from '@mosis/shared';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobRuns, MAINTENANCE_LEASE, releaseLease, tryAcquireLease } from '../store/sqlite/job-state.js';
import { loadJobsConfig } from './config.js';
import { startScheduledJobs, type ScheduledJobs } from './scheduler.js';
import { SqliteTelemetryMaintenance } from '../store/sqlite/maintenance.js';
import { dailyAggregates, groupByFromScratch, insertEvents, openMigratedTelemetry } from '../store/sqlite/testing.js';

const dir = tempDir();
afterAll(() => dir.cleanup());

let db: DB;
let path: string;
let jobs: ScheduledJobs | undefined;
let logs: string[];
let n = 0;
beforeEach(async () => {
  path = `${dir.path}/s${n++}.db`;
  db = await openMigratedTelemetry(path);
  logs = [];
});
afterEach(async () => {
  await jobs?.stop();
  jobs = undefined;
  db.close();
});

const start = (rollup: string) =>
  (jobs = startScheduledJobs({
    maintenance: new SqliteTelemetryMaintenance({ db, litestream: false }),
    config: { ROLLUP_SCHEDULE: rollup, PRUNE_SCHEDULE: '0 0 1 1 *', RETENTION_DAYS: 90 },
    log: createLogger('test', 'debug', (l) => logs.push(l)),
  }));

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out; logs:\n${logs.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('scheduled jobs', () => {
  it('roll up every 20 seconds by default, so analytics trail a 202 by well under a minute', () => {
    expect(loadJobsConfig({}).ROLLUP_SCHEDULE).toBe('*/20 * * * * *');
  });

  it('rolls up on its schedule and records the run', async () => {
    start('* * * * * *');
    const now = Date.now();
    insertEvents(db, [
      { app: 'a', device: 1n, type: 'open', ts: now },
      { app: 'a', device: 2n, type: 'open', ts: now - 86_400_000 },
    ]);
    await until(() => dailyAggregates(db).length === 2);
    expect(dailyAggregates(db)).toEqual(groupByFromScratch(db));
    await until(() => jobRuns(db).some((r) => r.job === 'rollup' && r.ok === 1));
  });

  it('runs a job asked for again while it is queued once, and a different job after it', async () => {
    start('0 0 1 1 *');
    await Promise.all([jobs!.run('rollup'), jobs!.run('rollup'), jobs!.run('prune'), jobs!.run('rollup')]);
    const done = (job: string) => logs.filter((l) => JSON.parse(l).msg === `${job} done`).length;
    expect([done('rollup'), done('prune')]).toEqual([1, 1]);
  });

  it('skips a tick while ops holds the maintenance lease, and runs once it is free', async () => {
    expect(tryAcquireLease(db, MAINTENANCE_LEASE, 'ops-elsewhere', Date.now())).toBe(true);
    start('0 0 1 1 *');
    insertEvents(db, [{ app: 'a', device: 1n, type: 'open', ts: Date.now() }]);
    await jobs!.run('rollup');
    expect(dailyAggregates(db)).toEqual([]);
    expect(logs.some((l) => l.includes('rollup skipped') && l.includes('ops-elsewhere'))).toBe(true);
    releaseLease(db, MAINTENANCE_LEASE, 'ops-elsewhere');
    await jobs!.run('rollup');
    expect(dailyAggregates(db)).toHaveLength(1);
  });

  it('runs a prune on demand and stops promptly', async () => {
    start('0 0 1 1 *');
    await jobs!.run('prune');
    expect(jobRuns(db).find((r) => r.job === 'prune')).toMatchObject({ ok: 1 });
    const t0 = performance.now();
    await jobs!.stop();
    jobs = undefined;
    expect(performance.now() - t0).toBeLessThan(1_000);
  });
});

describe('scheduled jobs at rest', () => {
  it('start the reader thread with the first rows to fold, end it at rest, and a tick with nothing to fold leaves it ended', async () => {
    start('0 0 1 1 *');
    await jobs!.run('rollup');
    expect(jobs!.readerStarted).toBe(false);
    insertEvents(db, [{ app: 'a', device: 1n, type: 'open', ts: Date.now() }]);
    await jobs!.run('rollup');
    expect(dailyAggregates(db)).toHaveLength(1);
    expect(jobs!.readerStarted).toBe(true);
    await jobs!.rest();
    expect(jobs!.readerStarted).toBe(false);
    await jobs!.run('rollup');
    expect(jobs!.readerStarted).toBe(false);
    // New rows start it again, and the rollup folds them.
    insertEvents(db, [{ app: 'a', device: 2n, type: 'open', ts: Date.now() }]);
    await jobs!.run('rollup');
    expect(jobs!.readerStarted).toBe(true);
    expect(dailyAggregates(db)).toEqual(groupByFromScratch(db));
  });
});
