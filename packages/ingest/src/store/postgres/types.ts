import type { WriteRequest, WriteResult } from '../types.js';

/**
 * The asynchronous write seam (issue 13), as helper h14-speed declares it in store/types.ts for the SQLite
 * writer in a worker thread; declared here with the same shape until both land (the lead reconciles).
 * One durable transaction per call (group commit), results per request in order; per-row rejections
 * (event_type_limit) as TelemetryStore.write has them. GroupCommitWriter awaits it.
 */
export interface TelemetryWriter {
  write(requests: readonly WriteRequest[]): Promise<WriteResult[]>;
  invalidate(): void;
  close(): Promise<void>;
}
