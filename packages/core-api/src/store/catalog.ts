import type { DB } from '@mosis/shared';
import { SEARCH_WEIGHTS } from '../limits.js';
import type { AppRow } from './apps.js';
import { perDb } from './prepare.js';

export type CatalogRow = AppRow & { developer_name: string };

export interface CatalogFilter {
  category: string | null;
  tag: string | null;
}

// Filters are `? IS NULL OR ...` so one prepared statement serves every combination.
const FILTERS = `a.status = 'published'
  AND (:category IS NULL OR a.category = :category)
  AND (:tag IS NULL OR EXISTS (SELECT 1 FROM json_each(a.tags) WHERE json_each.value = :tag))`;

const stmts = perDb((db) => ({
  // bm25 is smaller for better matches; weights follow the apps_fts column order (name, description, tags).
  search: db.prepare(
    `SELECT a.*, d.name AS developer_name
     FROM apps_fts JOIN apps a ON a.seq = apps_fts.rowid JOIN developers d ON d.id = a.developer_id
     WHERE apps_fts MATCH :match AND ${FILTERS}
     ORDER BY bm25(apps_fts, ${SEARCH_WEIGHTS.name}, ${SEARCH_WEIGHTS.description}, ${SEARCH_WEIGHTS.tags}), a.seq
     LIMIT :limit OFFSET :offset`,
  ),
  browse: db.prepare(
    `SELECT a.*, d.name AS developer_name
     FROM apps a JOIN developers d ON d.id = a.developer_id
     WHERE ${FILTERS} AND (:before IS NULL OR a.seq < :before)
     ORDER BY a.seq DESC LIMIT :limit`,
  ),
  byPackage: db.prepare(
    `SELECT a.*, d.name AS developer_name FROM apps a JOIN developers d ON d.id = a.developer_id
     WHERE a.package_id = ? AND a.status = 'published'`,
  ),
}));

/** Published apps matching an FTS5 expression, best first (bm25), then by age. */
export function searchCatalog(db: DB, match: string, f: CatalogFilter, limit: number, offset: number): CatalogRow[] {
  return stmts(db).search.all({ match, ...f, limit, offset }) as CatalogRow[];
}

/** Published apps, newest first; `before` is the seq of the last row seen. */
export function browseCatalog(db: DB, f: CatalogFilter, limit: number, before: number | null): CatalogRow[] {
  return stmts(db).browse.all({ ...f, limit, before }) as CatalogRow[];
}

export function publishedApp(db: DB, packageId: string): CatalogRow | undefined {
  return stmts(db).byPackage.get(packageId) as CatalogRow | undefined;
}
