import { mountDocs } from '@mosis/shared';
import type { CoreApp } from './context.js';

/**
 * Mounts `GET /docs`, the API reference rendered on the server from this app's /openapi.json (the renderer
 * is shared with ingest: see docs.ts in @mosis/shared).
 */
export function registerDocs(app: CoreApp): void {
  mountDocs(app);
}
