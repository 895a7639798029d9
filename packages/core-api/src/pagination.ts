import { z } from '@hono/zod-openapi';
import { ApiError } from '@mosis/shared';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from './limits.js';

/** Longest cursor accepted: ours are a few dozen characters. */
const MAX_CURSOR_CHARS = 512;

/** `?limit=&cursor=` of every paginated list. */
export const pageQuerySchema = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_LIMIT)
    .default(DEFAULT_PAGE_LIMIT)
    .openapi({ description: `page size, 1 to ${MAX_PAGE_LIMIT}`, example: DEFAULT_PAGE_LIMIT }),
  cursor: z
    .string()
    .max(MAX_CURSOR_CHARS)
    .optional()
    .openapi({ description: 'opaque: the `next_cursor` of the previous page' }),
});

/** A page of a list: `{items, next_cursor}`; `next_cursor` is null on the last page. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}

/** Opaque cursor: base64url of a JSON value naming the last row of the previous page. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** Reads a cursor back; anything that is not one of ours is a 400 `invalid_query`, never a 500. */
export function decodeCursor<T extends z.ZodType>(cursor: string | undefined, schema: T): z.infer<T> | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw ApiError.badRequest('cursor: not a cursor this list gave out', undefined, 'invalid_query');
  return parsed.data;
}

/**
 * Builds a page from `limit + 1` fetched rows: the extra row only tells that another page exists, and the
 * cursor names the last row returned.
 */
export function toPage<R, I>(rows: R[], limit: number, map: (row: R) => I, position: (row: R) => unknown) {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return { items: kept.map(map), next_cursor: more && last !== undefined ? encodeCursor(position(last)) : null };
}

/**
 * A keyset position that is one positive integer: a row's seq (creation order: apps, API keys, signing keys),
 * an audit row's id, a version_code. Bounded, so that no cursor can carry a number the store cannot use.
 */
export const seqCursorSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
