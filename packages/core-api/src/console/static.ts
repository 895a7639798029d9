import { ApiError } from '@mosis/shared';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { CoreContext } from '../context.js';
import { CONSOLE_ASSET_MAX_AGE_S } from '../limits.js';
import { CONSOLE_CSS, CONSOLE_ICON_SVG } from './styles.js';

/**
 * The console's static files, all served by us (no CDN: a NAS console works offline): its stylesheet, the
 * browser modules tsc builds from src/console/client into dist/console/client, and uPlot from node_modules.
 * Their URLs hold a build id (a hash of every file), so browsers keep them a year and a new build is new
 * URLs; relative imports between the modules stay within the same build. Each is gzipped once, in memory.
 */
export interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

/** packages/core-api/, from src/console or dist/console alike. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where tsc writes the browser modules (tsconfig.console-client.json). */
export const CLIENT_DIR = join(PACKAGE_ROOT, 'dist', 'console', 'client');
const UPLOT_DIR = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };

function asset(name: string, body: Buffer): Asset {
  const type = TYPES[name.split('.').pop() ?? ''] ?? 'application/octet-stream';
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { type, body, gzip: gzipSync(body, { level: 9 }), etag };
}

export class ConsoleAssets {
  private loaded?: { files: Map<string, Asset>; buildId: string };

  private load() {
    if (this.loaded) return this.loaded;
    const files = new Map<string, Asset>();
    files.set('console.css', asset('console.css', Buffer.from(CONSOLE_CSS, 'utf8')));
    files.set('icon.svg', asset('icon.svg', Buffer.from(CONSOLE_ICON_SVG, 'utf8')));
    for (const name of ['uPlot.iife.min.js', 'uPlot.min.css']) files.set(`vendor/${name}`, asset(name, readFileSync(join(UPLOT_DIR, name))));
    // Missing before the first `tsc -b`: the pages then work without their scripts (tables, plain forms).
    if (existsSync(CLIENT_DIR)) {
      for (const name of readdirSync(CLIENT_DIR)) if (name.endsWith('.js')) files.set(name, asset(name, readFileSync(join(CLIENT_DIR, name))));
    }
    const all = createHash('sha256');
    for (const [name, a] of [...files].sort(([x], [y]) => x.localeCompare(y))) all.update(`${name} ${a.etag}\n`);
    this.loaded = { files, buildId: all.digest('hex').slice(0, 12) };
    return this.loaded;
  }

  /** The URL of a static file, e.g. url('main.js') → /console/static/<build>/main.js. */
  url(name: string): string {
    return `/console/static/${this.load().buildId}/${name}`;
  }

  /** Serves GET /console/static/:build/<name>: 304 on a matching If-None-Match, gzip when accepted. */
  serve(c: CoreContext, build: string, name: string): Response {
    const { files, buildId } = this.load();
    const file = files.get(name);
    if (!file) throw ApiError.notFound(`no console file ${name}`);
    const headers: Record<string, string> = {
      'Content-Type': file.type,
      ETag: file.etag,
      Vary: 'Accept-Encoding',
      // An old build id still gets today's file, but only until it revalidates.
      'Cache-Control': build === buildId ? `public, max-age=${CONSOLE_ASSET_MAX_AGE_S}, immutable` : 'no-cache',
    };
    const match = c.req.header('if-none-match');
    if (match && match.split(',').some((t) => t.trim().replace(/^W\//, '') === file.etag)) return c.body(null, 304, headers);
    const gzip = /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
    if (gzip) headers['Content-Encoding'] = 'gzip';
    const body = gzip ? file.gzip : file.body;
    headers['Content-Length'] = String(body.length);
    return c.body(new Uint8Array(body), 200, headers);
  }
}
