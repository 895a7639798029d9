export * from './app.js';
export * from './config.js';
export * from './limits.js';
export * from './store/partitions.js';
export type * from './store/types.js';
export { GroupCommitWriter } from './write/group-commit.js';
export * from './jobs/index.js';
