import { tempDir } from '@mosis/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { PgTelemetryMaintenance } from '../store/postgres/maintenance.js';
import { describePg } from '../store/postgres/testing.js';
import { event, startTestIngest } from '../testing.js';
import { startPgTestIngest } from '../testing-pg.js';
import { recordJobEnd, recordJobStart } from '../store/sqlite/job-state.js';

const APP = 'com.dev.jobs';

/** The value of one series in a /metrics text, or undefined when it is absent. */
function series(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('job metrics', () => {
  it('report each job’s last success, outcome and duration from job_runs, and the rows waiting for rollup', async () => {
    const t = await startTestIngest({ apps: [{ packageId: APP }] });
    try {
      const scrape = async () => (await t.app.request('/metrics')).text();
      let text = await scrape();
      expect(series(text, 'ingest_job_last_success_timestamp_seconds', 'job="rollup"')).toBeUndefined();
      expect(series(text, 'ingest_rollup_pending_rows', '')).toBe(0);

      expect((await t.post('/v1/events', { events: [event(APP), event(APP, { timestamp: new Date(Date.now() - 86_400_000).toISOString() })] })).status).toBe(202);
      expect(series(await scrape(), 'ingest_rollup_pending_rows', '')).toBe(2);

      // As ops (another process) records its runs: the rollup succeeds, a prune fails.
      recordJobStart(t.telemetry, 'rollup', 1_700_000_000_000);
      recordJobEnd(t.telemetry, 'rollup', 1_700_000_002_500, { summary: { units: 2 } });
      recordJobStart(t.telemetry, 'prune', 1_700_000_010_000);
      recordJobEnd(t.telemetry, 'prune', 1_700_000_010_400, { error: new Error('disk full') });
      text = await scrape();
      expect(series(text, 'ingest_job_last_success_timestamp_seconds', 'job="rollup"')).toBe(1_700_000_002.5);
      expect(series(text, 'ingest_job_last_success_timestamp_seconds', 'job="prune"')).toBeUndefined();
      expect(series(text, 'ingest_job_last_run_ok', 'job="rollup"')).toBe(1);
      expect(series(text, 'ingest_job_last_run_ok', 'job="prune"')).toBe(0);
      expect(series(text, 'ingest_job_last_duration_seconds', 'job="rollup"')).toBe(2.5);
      expect(series(text, 'ingest_job_last_duration_seconds', 'job="prune"')).toBe(0.4);
    } finally {
      await t.stop();
    }
  });
});

describePg('job metrics on PostgreSQL', () => {
  const dir = tempDir('mosis-job-metrics-pg-');
  afterAll(() => dir.cleanup());

  it('report the runs any process recorded in PostgreSQL, and the rows waiting for rollup there', async () => {
    const t = await startPgTestIngest({ dataDir: dir.path, apps: [{ id: 'app-1', packageId: APP }] });
    try {
      const scrape = async () => (await t.ingest.app.request('/metrics')).text();
      let text = await scrape();
      expect(series(text, 'ingest_job_last_run_ok', 'job="rollup"')).toBeUndefined();
      expect(series(text, 'ingest_rollup_pending_rows', '')).toBe(0);

      expect((await t.postEvents([event(APP), event(APP), event(APP)])).status).toBe(202);
      expect(series(await scrape(), 'ingest_rollup_pending_rows', '')).toBe(3);

      // Another process's run (its own maintenance on the same database), folding everything in (no settle delay).
      const other = new PgTelemetryMaintenance({ pool: t.pool, settleMs: 0 });
      await other.runJob('rollup', () => other.rollup());
      text = await scrape();
      expect(series(text, 'ingest_job_last_run_ok', 'job="rollup"')).toBe(1);
      expect(series(text, 'ingest_job_last_success_timestamp_seconds', 'job="rollup"')).toBeGreaterThan(Date.now() / 1000 - 60);
      expect(series(text, 'ingest_rollup_pending_rows', '')).toBe(0);

      // The database gone: the scrape still answers, without the figures it cannot read.
      await t.db.drop();
      const gone = await t.ingest.app.request('/metrics');
      expect(gone.status).toBe(200);
      text = await gone.text();
      expect(series(text, 'ingest_rollup_pending_rows', '')).toBeNaN();
      expect(series(text, 'ingest_job_last_run_ok', 'job="rollup"')).toBeUndefined();
    } finally {
      await t.stop();
    }
  });
});
