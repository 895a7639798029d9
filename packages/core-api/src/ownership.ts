import { ApiError, type DB } from '@mosis/shared';
import type { CoreContext } from './context.js';
import { caller } from './context.js';
import { ownedApp, type AppRow } from './store/apps.js';

/**
 * Loads app `appId` if the authenticated caller owns it, else throws 404 `not_found`: another developer's
 * app and an app that does not exist answer alike, so ids leak nothing. Use behind `requireAuth`:
 *
 *   const app = loadOwnedApp(c, deps.portal, c.req.valid('param').id);
 */
export function loadOwnedApp(c: CoreContext, db: DB, appId: string): AppRow {
  const app = ownedApp(db, caller(c).developerId, appId);
  if (!app) throw ApiError.notFound('app not found');
  return app;
}
