import { createRoute, z } from '@hono/zod-openapi';
import { ApiError, type DB } from '@mosis/shared';
import { ftsMatchExpression } from '../catalog/fts-query.js';
import type { CoreApp, CoreDeps } from '../context.js';
import { MAX_PAGE_LIMIT } from '../limits.js';
import { errorResponses, jsonResponse } from '../openapi.js';
import { decodeCursor, encodeCursor, pageQuerySchema, pageSchema, seqCursorSchema } from '../pagination.js';
import { CategorySchema, VersionSchema } from '../schemas.js';
import { browseCatalog, publishedApp, searchCatalog, type CatalogRow } from '../store/catalog.js';
import { jsonArray } from '../store/prepare.js';
import { latestPublishedVersion, type VersionRow } from '../store/versions.js';
import { signingKeyById } from '../store/signing-keys.js';
import { downloadPath, publicOrigin } from '../package-files/urls.js';

/** Deepest offset a ranked search pages to: past this, refine the query (keeps every page cheap). */
export const MAX_SEARCH_OFFSET = 1_000;

/** What the public catalog shows of a version: no ids, review state or notes. */
const PublishedVersionSchema = VersionSchema.pick({
  version_code: true,
  version_name: true,
  package_url: true,
  package_size: true,
  signature: true,
  permissions: true,
  min_mosis_version: true,
  release_notes: true,
  published_at: true,
})
  .extend({
    package_url: z.string().openapi({ description: 'where to download the package: the `package.url` below once one is uploaded' }),
    package: z
      .object({
        url: z.string().openapi({ description: 'GET it (no auth): the bytes, with ETag, Range and the signature headers' }),
        sha256: z.string().openapi({ description: 'hex SHA-256 of the package' }),
        size: z.number().int(),
        signature: z.string().openapi({ description: 'base64 Ed25519 signature of the 32-byte SHA-256 digest' }),
        signing_key: z
          .object({ fingerprint: z.string(), public_key: z.string().openapi({ description: 'Ed25519 public key, PEM' }) })
          .nullable(),
      })
      .nullable()
      .openapi({ description: 'verify before installing: signature over sha256 by signing_key; null for versions published before uploads' }),
  })
  .openapi('PublishedVersion');

const CatalogAppSchema = z
  .object({
    package_id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    category: z.string().nullable(),
    tags: z.array(z.string()),
    developer: z.object({ name: z.string() }),
    latest_version: PublishedVersionSchema.nullable(),
  })
  .openapi('CatalogApp');

const CatalogQuery = pageQuerySchema.extend({
  q: z.string().optional().openapi({ description: 'search text: any text is safe; the last word matches as a prefix' }),
  category: CategorySchema.optional(),
  tag: z.string().max(64).optional(),
});

/** Ranked search pages by offset (a rank has no stable keyset); browsing pages by position (seq). */
const CursorSchema = z.union([
  z.object({ o: z.number().int().min(1).max(MAX_SEARCH_OFFSET) }).strict(),
  z.object({ s: seqCursorSchema }).strict(),
]);

function publishedVersion(db: DB, v: VersionRow | undefined, packageId: string, origin: string) {
  if (!v) return null;
  const url = `${origin}${downloadPath(packageId, v.version_code)}`;
  const key = v.signing_key_id ? signingKeyById(db, v.signing_key_id) : undefined;
  const pkg =
    v.package_sha256 === null
      ? null
      : {
          url,
          sha256: v.package_sha256,
          size: v.package_size,
          signature: v.signature,
          signing_key: key ? { fingerprint: key.fingerprint, public_key: key.public_key } : null,
        };
  return {
    version_code: v.version_code,
    version_name: v.version_name,
    package_url: pkg ? url : v.package_url,
    package: pkg,
    package_size: v.package_size,
    signature: v.signature,
    permissions: jsonArray(v.permissions),
    min_mosis_version: v.min_mosis_version,
    release_notes: v.release_notes,
    published_at: v.published_at,
  };
}

function catalogApp(db: DB, row: CatalogRow, origin: string) {
  return {
    package_id: row.package_id,
    name: row.name,
    description: row.description,
    category: row.category,
    tags: jsonArray(row.tags),
    developer: { name: row.developer_name },
    latest_version: publishedVersion(db, latestPublishedVersion(db, row.id), row.package_id, origin),
  };
}

/** The public catalog: published apps only, no auth. */
export function register(app: CoreApp, deps: CoreDeps): void {
  const db = deps.portal;

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/catalog/apps',
      tags: ['catalog'],
      summary: 'Search or browse published apps (no auth)',
      description:
        'With `q`: full-text search over name, description and tags, best match first (bm25, the name weighs most); ' +
        'any text is accepted, the last word matches as a prefix. Without `q`: newest first. ' +
        `Ranked results page by offset, up to ${MAX_SEARCH_OFFSET} results deep.`,
      request: { query: CatalogQuery },
      responses: { 200: jsonResponse(pageSchema(CatalogAppSchema), 'a page of published apps'), ...errorResponses(400) },
    }),
    (c) => {
      const query = c.req.valid('query');
      const filter = { category: query.category ?? null, tag: query.tag?.trim().toLowerCase() || null };
      const position = decodeCursor(query.cursor, CursorSchema);
      const match = ftsMatchExpression(query.q);
      const limit = Math.min(query.limit, MAX_PAGE_LIMIT);
      const wrongCursor = () => ApiError.badRequest('cursor: belongs to another query', undefined, 'invalid_query');

      if (match === null) return c.json({ items: [], next_cursor: null }, 200);
      if (match === undefined) {
        if (position && !('s' in position)) throw wrongCursor();
        const rows = browseCatalog(db, filter, limit + 1, position?.s ?? null);
        const more = rows.length > limit;
        const kept = rows.slice(0, limit);
        const last = kept[kept.length - 1];
        return c.json({ items: kept.map((r) => catalogApp(db, r, publicOrigin(c, deps.config.PUBLIC_URL))), next_cursor: more && last ? encodeCursor({ s: last.seq }) : null }, 200);
      }
      if (position && !('o' in position)) throw wrongCursor();
      const offset = position?.o ?? 0;
      const rows = searchCatalog(db, match, filter, limit + 1, offset);
      const more = rows.length > limit && offset + limit < MAX_SEARCH_OFFSET;
      return c.json(
        { items: rows.slice(0, limit).map((r) => catalogApp(db, r, publicOrigin(c, deps.config.PUBLIC_URL))), next_cursor: more ? encodeCursor({ o: offset + limit }) : null },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/catalog/apps/{package_id}',
      tags: ['catalog'],
      summary: 'A published app with its latest published version (no auth)',
      request: { params: z.object({ package_id: z.string().openapi({ example: 'com.example.camera' }) }) },
      responses: { 200: jsonResponse(CatalogAppSchema, 'the app'), ...errorResponses(404) },
    }),
    (c) => {
      const row = publishedApp(db, c.req.valid('param').package_id);
      if (!row) throw ApiError.notFound('no published app with this package_id');
      return c.json(catalogApp(db, row, publicOrigin(c, deps.config.PUBLIC_URL)), 200);
    },
  );
}
