import { addDays } from '../days.js';

/**
 * The telemetry store's maintenance, as the scheduler, the metrics and `ops` see it on either backend:
 * the incremental rollup and retention, each run as a job under the maintenance lease (one run at a time
 * across every process) and recorded in `job_runs`. store/sqlite/maintenance.ts and
 * store/postgres/maintenance.ts implement it.
 */

/** A holder that stops renewing (crashed) loses the lease after this long. */
export const LEASE_TTL_MS = 10 * 60_000;

export type JobName = 'rollup' | 'prune';

export interface JobRun {
  job: JobName;
  started_at: number;
  finished_at: number | null;
  ok: number | null;
  summary: string | null;
  error: string | null;
  last_ok_at: number | null;
}

export interface RollupStats {
  /** Steps written. */
  steps: number;
  /** Raw rows folded into the aggregates. */
  rows: number;
  /** Raw rows of days before the retention watermark, passed over (those days are final). */
  skippedRows: number;
  /** (app, day)s whose device rows became sketches. */
  closedDays: number;
  aborted: boolean;
}

/** First day kept: raw rows of earlier days (UTC) are removed. */
export function retentionCutoffDay(now: number, retentionDays: number): string {
  return addDays(new Date(now).toISOString().slice(0, 10), -retentionDays);
}

/** What a retention run did (or, dry, would do), on either store; SQLite adds what it gave back to the file system. */
export interface PruneSummary {
  cutoffDay: string;
  dryRun: boolean;
  /** Partitions dropped whole (or that would be), with their row counts. */
  dropped: { name: string; rows: number }[];
  /** Rows removed from boundary partitions (or that would be). */
  trimmed: { name: string; rows: number }[];
  /** Raw rows rolled up first (dry run: waiting to be). */
  rolledUpFirst: number;
  aborted?: boolean;
}

/** A job found the maintenance lease held by another process (or `ops`): the run is skipped, not failed. */
export class MaintenanceBusyError extends Error {
  override readonly name: string = 'MaintenanceBusyError';
  constructor(
    message: string,
    readonly holder: string,
  ) {
    super(message);
  }
}

export interface TelemetryMaintenance {
  /**
   * Folds in the raw rows stored since the last run, under the maintenance lease, recorded in job_runs.
   * Rejects with MaintenanceBusyError when another process holds the lease; `signal` aborts between steps.
   */
  runRollup(opts?: { signal?: AbortSignal }): Promise<RollupStats>;
  /** Applies retention (rows before the cutoff day go) under the lease, recorded in job_runs. */
  runPrune(opts: { retentionDays: number; signal?: AbortSignal }): Promise<PruneSummary>;
  /** The last run of each job (metrics, `ops stats`). */
  jobRuns(): Promise<JobRun[]>;
  /** Raw rows stored but not yet folded into the aggregates. */
  pendingRows(): Promise<number>;
  /** At rest, between runs: frees what the jobs hold (SQLite: its reader thread); the next run takes it back. */
  rest(): Promise<void>;
  /** True while the jobs hold resources a rest would free (tests). */
  readonly holding: boolean;
  /** Ends what the jobs hold; a run in flight fails (aborted) and its unwritten steps are redone next time. */
  close(): Promise<void>;
}
