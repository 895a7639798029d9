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

/**
 * The writer lost the commit in flight without knowing whether it committed (the connection died during
 * COMMIT): its requests must be answered 503 and not retried (an event without an id would be stored
 * twice). Same meaning as h14-speed's WriterUnavailableError in store/types.ts; the lead reconciles.
 */
export class WriterUnavailableError extends Error {
  override readonly name = 'WriterUnavailableError';
}
