import type { Metrics } from '@mosis/shared';
import { Gauge } from 'prom-client';
import type { JobRun, TelemetryMaintenance } from '../store/maintenance.js';

/**
 * The scheduled jobs' Prometheus series, read from the store's job runs and rollup positions at scrape
 * time, on either backend: a run made by `ops rollup` or `ops prune`, or on PostgreSQL by another ingest
 * process, counts as much as one of this process's. A store that cannot answer (closed, unreachable)
 * leaves the job series absent and the pending rows NaN for that scrape, rather than failing it.
 */
export function registerJobMetrics(m: Metrics, maintenance: TelemetryMaintenance): void {
  const registers = [m.registry];
  const runs = async (): Promise<JobRun[]> => maintenance.jobRuns().catch(() => []);
  new Gauge({
    name: 'ingest_job_last_success_timestamp_seconds',
    help: 'End of the last successful run of a job (rollup | prune), Unix seconds; absent before the first',
    labelNames: ['job'] as const,
    registers,
    async collect() {
      const all = await runs();
      this.reset();
      for (const r of all) if (r.last_ok_at !== null) this.set({ job: r.job }, r.last_ok_at / 1000);
    },
  });
  new Gauge({
    name: 'ingest_job_last_run_ok',
    help: 'Outcome of the last finished run of a job: 1 success, 0 failure (see the ingest log or ops stats)',
    labelNames: ['job'] as const,
    registers,
    async collect() {
      const all = await runs();
      this.reset();
      for (const r of all) if (r.ok !== null) this.set({ job: r.job }, r.ok);
    },
  });
  new Gauge({
    name: 'ingest_job_last_duration_seconds',
    help: 'Duration of the last finished run of a job',
    labelNames: ['job'] as const,
    registers,
    async collect() {
      const all = await runs();
      this.reset();
      for (const r of all) if (r.finished_at !== null) this.set({ job: r.job }, (r.finished_at - r.started_at) / 1000);
    },
  });
  new Gauge({
    name: 'ingest_rollup_pending_rows',
    help: 'Raw rows stored but not yet folded into the aggregates (ids handed out past the rollup position; duplicates skipped by a batch may count too)',
    registers,
    async collect() {
      // NaN, not 0, when the store cannot say: "nothing waiting" would be a lie an alert could trust.
      this.set(await maintenance.pendingRows().catch(() => Number.NaN));
    },
  });
}
