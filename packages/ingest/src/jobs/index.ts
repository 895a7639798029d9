export * from './config.js';
export * from './days.js';
export * from './job-state.js';
export * from './retention.js';
export * from './rollup.js';
export * from './run-job.js';
export * from './scheduler.js';
export * from './snapshot-reader.js';
