import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '@mosis/shared';
import { Readable } from 'node:stream';
import { audit } from '../audit.js';
import { requireAuth } from '../auth/middleware.js';
import { caller, type CoreApp, type CoreContext, type CoreDeps } from '../context.js';
import { PACKAGE_CACHE_MAX_AGE_S, PACKAGE_READ_CHUNK_BYTES } from '../limits.js';
import { BEARER, errorResponses, IdParam, jsonResponse } from '../openapi.js';
import { loadOwnedApp } from '../ownership.js';
import { signatureMismatch, storageError, withHeaders } from '../package-files/errors.js';
import { ifRangeHolds, noneMatch, parseRange } from '../package-files/range.js';
import { packageTooLarge, type Received } from '../package-files/receive.js';
import { findSigner } from '../package-files/signature.js';
import type { PackageStorage, UploadOutcome } from '../package-files/storage.js';
import { publishedApp } from '../store/catalog.js';
import { recordPackage } from '../store/packages.js';
import { nowIso } from '../store/prepare.js';
import { signingKeyById } from '../store/signing-keys.js';
import { attachPackage, versionByCode, type VersionRow } from '../store/versions.js';
import { parseCode } from './versions.js';

const UPLOAD_PATH = /^\/v1\/apps\/[^/]+\/versions\/[^/]+\/package$/;

/** Whether a request is a package upload: the JSON body limit does not apply to it (it has its own). */
export function isPackageUpload(method: string, path: string): boolean {
  return method === 'PUT' && UPLOAD_PATH.test(path);
}

const UploadResultSchema = z
  .object({
    sha256: z.string().openapi({ description: 'hex SHA-256 of the stored bytes' }),
    size: z.number().int().openapi({ description: 'bytes stored (the version\'s package_size is now this)' }),
    signing_key_id: z.string(),
    fingerprint: z.string().openapi({ description: 'of the signing key whose signature verified' }),
  })
  .openapi('PackageUpload');

const OCTETS = { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } };

/** What an upload failure counts as. */
function outcomeOf(err: unknown): UploadOutcome {
  if (!(err instanceof ApiError)) return 'failed';
  if (err.status === 413) return 'too_large';
  if (err.code === 'upload_incomplete') return 'incomplete';
  if (err.code === 'signature_mismatch') return 'signature_mismatch';
  return 'rejected';
}

/** Package upload (developers) and download (devices, from the catalog). */
export function register(app: CoreApp, deps: CoreDeps): void {
  const db = deps.portal;
  const storage = deps.packages;
  if (!storage) throw new Error('routes/packages: deps.packages is missing (createCoreApp sets it)');
  const write = requireAuth(db, 'apps:write');

  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/apps/{id}/versions/{code}/package',
      tags: ['versions'],
      summary: "Upload a draft version's package",
      description:
        'The body is the package itself (`Content-Type: application/octet-stream`), at most MAX_PACKAGE_BYTES ' +
        '(default 256 MiB: over it, 413 while reading). The version\'s `signature` must be an Ed25519 signature of ' +
        "the package's 32-byte SHA-256 digest by one of your active signing keys; otherwise 422 `signature_mismatch` " +
        'and nothing is kept (fix it with PATCH .../versions/{code}, then upload again). Only while the version is ' +
        'a draft (409 otherwise); uploading again replaces the package. The version\'s package_size becomes the real size.',
      security: BEARER,
      middleware: write,
      request: { params: z.object({ id: IdParam, code: z.string().openapi({ description: 'version_code' }) }), body: { required: true, content: OCTETS } },
      responses: { 200: jsonResponse(UploadResultSchema, 'stored and verified'), ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 507) },
    }),
    async (c) => {
      let received: Received | undefined;
      let bodyRead = false;
      try {
        const result = await upload(c, deps, storage, (r) => {
          received = r;
          bodyRead = true;
        });
        storage.settled('stored');
        return c.json(result, 200);
      } catch (thrown) {
        const err = storageError(thrown);
        if (err !== thrown) deps.log.error('package storage full', { err: thrown });
        storage.settled(outcomeOf(err));
        // Refused before the whole body was read: close the connection rather than read the rest.
        if (!bodyRead && err instanceof ApiError) throw withHeaders(err, { Connection: 'close' });
        throw err;
      } finally {
        if (received) await storage.discard(received);
      }
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/catalog/apps/{package_id}/versions/{code}/package',
      tags: ['catalog'],
      summary: "A published version's package (no auth)",
      description:
        'Published versions of apps in the catalog only (404 otherwise). `ETag` is the quoted SHA-256 of the bytes; ' +
        '`X-Mosis-Signature` is the Ed25519 signature of that digest and `X-Mosis-Signing-Key` the fingerprint of the ' +
        'key that made it (its public key is in the catalog entry): verify before installing. One `Range` per request ' +
        '(206; several ranges get the whole package, 200; a range past the end, 416), `If-Range`, `If-None-Match` (304).',
      request: {
        params: z.object({ package_id: z.string().openapi({ example: 'com.example.camera' }), code: z.string().openapi({ description: 'version_code' }) }),
      },
      responses: {
        200: { description: 'the package', content: OCTETS },
        206: { description: 'the requested byte range', content: OCTETS },
        304: { description: 'not modified (If-None-Match)' },
        ...errorResponses(404, 416),
      },
    }),
    async (c) => {
      const { package_id: packageId, code: codeText } = c.req.valid('param');
      const found = publishedApp(db, packageId);
      const code = parseCode(codeText);
      const version = found ? versionByCode(db, found.id, code) : undefined;
      if (!version || version.status !== 'published' || version.package_sha256 === null) {
        throw ApiError.notFound('no published package for this app and version');
      }
      return download(c, deps, storage, version, packageId);
    },
  );
}

/** Reads, verifies and records one upload; `onReceived` learns of the temp file once the body is read. */
async function upload(c: CoreContext, deps: CoreDeps, storage: PackageStorage, onReceived: (r: Received) => void) {
  const db = deps.portal;
  const who = caller(c);
  const params = c.req.param() as { id: string; code: string };
  const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/octet-stream') {
    throw new ApiError(415, 'unsupported_media_type', 'send the package as Content-Type: application/octet-stream');
  }
  const lengthHeader = c.req.header('content-length');
  const declaredBytes = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  if (declaredBytes !== undefined && declaredBytes > storage.maxBytes) throw packageTooLarge(storage.maxBytes);

  const draft = (): { version: VersionRow; appId: string } => {
    const owned = loadOwnedApp(c, db, params.id);
    const version = versionByCode(db, owned.id, parseCode(params.code));
    if (!version) throw ApiError.notFound('version not found');
    if (owned.status === 'suspended') throw ApiError.conflict('the app is suspended');
    if (version.status !== 'draft') throw ApiError.conflict(`a package can be uploaded only to a draft; this version is ${version.status}`, { status: version.status });
    return { version, appId: owned.id };
  };
  const before = draft();

  const received = await storage.receive(c.req.raw.body, { declaredBytes, signal: c.req.raw.signal });
  onReceived(received);
  const details = { app_id: before.appId, version_code: before.version.version_code, sha256: received.sha256, size: received.size };
  const signer = findSigner(db, who.developerId, received.sha256, before.version.signature);
  if (!signer) {
    audit(c, db, { developerId: who.developerId, action: 'package.verification_failed', resourceType: 'version', resourceId: before.version.id, details });
    throw signatureMismatch(
      "the version's signature is not an Ed25519 signature of this package's SHA-256 digest by one of your active signing keys",
      details,
    );
  }
  await storage.sync(received);

  const result = db.transaction(() => {
    // Re-read under the write lock: the version, its signature and the key may have changed while the body streamed.
    const now = draft();
    if (now.version.signature !== before.version.signature) throw ApiError.conflict('the signature changed during the upload; upload again');
    if (signingKeyById(db, signer.id)?.is_active !== 1) throw signatureMismatch('the signing key was deactivated during the upload', details);
    recordPackage(db, received.sha256, received.size, who.developerId);
    const stored = storage.placeSync(received);
    attachPackage(db, now.appId, now.version.version_code, {
      sha256: received.sha256,
      size: received.size,
      signingKeyId: signer.id,
      uploadedAt: nowIso(),
    });
    audit(c, db, {
      developerId: who.developerId,
      action: 'package.uploaded',
      resourceType: 'version',
      resourceId: now.version.id,
      details: { ...details, signing_key_id: signer.id, fingerprint: signer.fingerprint, stored },
    });
    return { sha256: received.sha256, size: received.size, signing_key_id: signer.id, fingerprint: signer.fingerprint };
  }).immediate();
  await storage.backup(received.sha256);
  return result;
}

/** Streams a published package, with its validators and signature headers, honouring Range and conditionals. */
async function download(c: CoreContext, deps: CoreDeps, storage: PackageStorage, version: VersionRow, packageId: string): Promise<Response> {
  const sha256 = version.package_sha256!;
  const etag = `"${sha256}"`;
  const key = version.signing_key_id ? signingKeyById(deps.portal, version.signing_key_id) : undefined;
  const headers: Record<string, string> = {
    ETag: etag,
    'Accept-Ranges': 'bytes',
    'Cache-Control': `public, max-age=${PACKAGE_CACHE_MAX_AGE_S}`,
    'X-Mosis-Signature': version.signature,
    ...(key ? { 'X-Mosis-Signing-Key': key.fingerprint } : {}),
  };
  if (noneMatch(c.req.header('if-none-match'), etag)) return new Response(null, { status: 304, headers });

  const fh = await storage.open(sha256);
  const size = fh ? (await fh.stat()).size : undefined;
  if (!fh || size !== version.package_size) {
    await fh?.close();
    deps.log.error('package file missing or wrong size', { sha256, expected: version.package_size, found: size ?? null });
    throw new ApiError(503, 'package_unavailable', 'the package file is not available right now');
  }
  let range = parseRange(c.req.header('range'), size);
  if (range.kind !== 'full' && !ifRangeHolds(c.req.header('if-range'), etag)) range = { kind: 'full' };
  if (range.kind === 'unsatisfiable') {
    await fh.close();
    throw new ApiError(416, 'range_not_satisfiable', `the package has ${size} bytes`, { size }, { ...headers, 'Content-Range': `bytes */${size}` });
  }
  const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, size - 1];
  headers['Content-Type'] = 'application/octet-stream';
  headers['Content-Disposition'] = `attachment; filename="${packageId}-${version.version_code}.mpk"`;
  headers['Content-Length'] = String(end - start + 1);
  if (range.kind === 'partial') headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  const status = range.kind === 'partial' ? 206 : 200;
  if (c.req.method === 'HEAD') {
    await fh.close();
    return new Response(null, { status, headers });
  }
  // The stream closes the file when it ends, fails, or is cancelled (the client went away).
  const stream = fh.createReadStream({ start, end, highWaterMark: PACKAGE_READ_CHUNK_BYTES, autoClose: true });
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, { status, headers });
}
