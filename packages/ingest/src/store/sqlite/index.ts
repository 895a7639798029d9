// telemetry.db: what `ops` and the tests use of the SQLite store directly (its jobs run inline there).
export * from './job-state.js';
export * from './partitions.js';
export * from './pipeline.js';
export * from './retention.js';
export * from './rollup-rebuild.js';
export * from './rollup.js';
export * from './run-job.js';
export * from './snapshot-reader.js';
export * from './reads.js';
