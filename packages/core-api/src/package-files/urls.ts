import type { Context } from 'hono';

/** Path of a published version's package download (the catalog's URL for it). */
export function downloadPath(packageId: string, versionCode: number): string {
  return `/v1/catalog/apps/${encodeURIComponent(packageId)}/versions/${versionCode}/package`;
}

/** The origin download URLs are built on: PUBLIC_URL when set, else the request's own origin. */
export function publicOrigin(c: Context, publicUrl: string | undefined): string {
  return publicUrl ?? new URL(c.req.url).origin;
}
