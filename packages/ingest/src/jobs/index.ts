export * from './config.js';
export * from './scheduler.js';
