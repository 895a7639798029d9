import type { DB, Metrics } from '@mosis/shared';
import { Gauge } from 'prom-client';
import { jobRuns } from '../store/sqlite/job-state.js';
import { rowsWaiting } from '../store/sqlite/rollup.js';

/**
 * The scheduled jobs' Prometheus series, read from `job_runs` and the rollup positions at scrape time: a
 * run made by `ops rollup` or `ops prune` in another process counts as much as a scheduled one.
 */
export function registerJobMetrics(m: Metrics, db: () => DB | undefined): void {
  const registers = [m.registry];
  const runs = () => {
    const d = db();
    return d?.open ? jobRuns(d) : [];
  };
  new Gauge({
    name: 'ingest_job_last_success_timestamp_seconds',
    help: 'End of the last successful run of a job (rollup | prune), Unix seconds; absent before the first',
    labelNames: ['job'] as const,
    registers,
    collect() {
      this.reset();
      for (const r of runs()) if (r.last_ok_at !== null) this.set({ job: r.job }, r.last_ok_at / 1000);
    },
  });
  new Gauge({
    name: 'ingest_job_last_run_ok',
    help: 'Outcome of the last finished run of a job: 1 success, 0 failure (see the ingest log or ops stats)',
    labelNames: ['job'] as const,
    registers,
    collect() {
      this.reset();
      for (const r of runs()) if (r.ok !== null) this.set({ job: r.job }, r.ok);
    },
  });
  new Gauge({
    name: 'ingest_job_last_duration_seconds',
    help: 'Duration of the last finished run of a job',
    labelNames: ['job'] as const,
    registers,
    collect() {
      this.reset();
      for (const r of runs()) if (r.finished_at !== null) this.set({ job: r.job }, (r.finished_at - r.started_at) / 1000);
    },
  });
  new Gauge({
    name: 'ingest_rollup_pending_rows',
    help: 'Raw rows stored but not yet folded into the aggregates: ids after each partition\'s rollup position, summed (duplicates skipped by a batch may count too)',
    registers,
    collect() {
      const d = db();
      this.set(d?.open ? rowsWaiting(d).reduce((sum, p) => sum + p.waiting, 0) : 0);
    },
  });
}
