import { describe, expect, it } from 'vitest';
import { event, startTestIngest } from '../testing.js';
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
