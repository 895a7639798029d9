export * from './app.js';
export * from './config.js';
export type { Caller, CoreApp, CoreContext, CoreEnv, RouteModule } from './context.js';
export { requireAuth } from './auth/middleware.js';
export { PERMISSIONS, type Permission } from './auth/permissions.js';
export { decide, reviewQueue, setSuspended, type Actor, type ReviewDecision } from './review/workflow.js';
