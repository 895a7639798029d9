import type { DB, Logger } from '@mosis/shared';
import type { JobRun, PruneSummary, RollupStats, TelemetryMaintenance } from '../maintenance.js';
import { jobRuns } from './job-state.js';
import type { WriteGate } from './pipeline.js';
import { rowsWaiting } from './rollup.js';
import { runPruneJob, runRollupJob } from './run-job.js';
import { createLazyWorkerReader, type LazyWorkerReader } from './snapshot-reader.js';

/**
 * The ingest process's reader thread rests after each snapshot read as long as the read took: the jobs then
 * use at most half a core and ingest keeps the rest (on a 2-core box that matters; see bench/rollup.mjs).
 */
export const SCHEDULED_ROLLUP_PAUSE_RATIO = 1;

export interface SqliteMaintenanceOptions {
  /** telemetry.db, read-write: ingest's connection (the jobs' writes go through `exclusive`). */
  db: DB;
  /** Under Litestream, retention leaves checkpoints to Litestream. */
  litestream: boolean;
  log?: Logger;
  now?: () => number;
  /** The ingest writer's slot between group commits, for the jobs' write transactions. */
  exclusive?: WriteGate;
}

/**
 * Maintenance of telemetry.db inside the ingest process: the jobs of run-job.ts, reading through a worker
 * thread (started by the first read, ended at rest) and writing between group commits. `ops` runs the same
 * jobs inline (commands/rollup.ts, prune.ts); the lease in telemetry.db keeps them from interleaving.
 */
export class SqliteTelemetryMaintenance implements TelemetryMaintenance {
  private readonly reader: LazyWorkerReader;

  constructor(private readonly opts: SqliteMaintenanceOptions) {
    this.reader = createLazyWorkerReader(opts.db.name, { pauseRatio: SCHEDULED_ROLLUP_PAUSE_RATIO });
  }

  private context(signal: AbortSignal | undefined) {
    const { db, log, now, exclusive } = this.opts;
    return { db, reader: this.reader, log, signal, now, exclusive };
  }

  runRollup(opts: { signal?: AbortSignal } = {}): Promise<RollupStats> {
    return runRollupJob(this.context(opts.signal));
  }

  runPrune(opts: { retentionDays: number; signal?: AbortSignal }): Promise<PruneSummary> {
    return runPruneJob(this.context(opts.signal), { retentionDays: opts.retentionDays, litestream: this.opts.litestream });
  }

  async jobRuns(): Promise<JobRun[]> {
    return this.opts.db.open ? jobRuns(this.opts.db) : [];
  }

  async pendingRows(): Promise<number> {
    return this.opts.db.open ? rowsWaiting(this.opts.db).reduce((sum, p) => sum + p.waiting, 0) : 0;
  }

  /** Ends the reader thread, with its heap and page cache (tens of MiB after a rollup over a day of rows). */
  rest(): Promise<void> {
    return this.reader.release();
  }

  get holding(): boolean {
    return this.reader.started;
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}
