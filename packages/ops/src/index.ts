export * from './cli.js';
export * from './launcher.js';
