import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '@mosis/shared';
import { audit } from '../audit.js';
import { requireAuth } from '../auth/middleware.js';
import { caller, type CoreApp, type CoreDeps } from '../context.js';
import { BEARER, errorResponses, IdParam, jsonBody, jsonResponse } from '../openapi.js';
import { loadOwnedApp } from '../ownership.js';
import { signatureMismatch } from '../package-files/errors.js';
import { findSigner } from '../package-files/signature.js';
import { SignatureSchema, VersionSchema } from '../schemas.js';
import { deleteVersion, publicVersion, setVersionSignature, versionByCode } from '../store/versions.js';
import { parseCode } from './versions.js';

const Params = z.object({ id: IdParam, code: z.string().openapi({ description: 'version_code' }) });
const PatchBody = z.object({ signature: SignatureSchema }).strict().openapi('PatchVersionRequest');

/**
 * Changes to a draft before review: a new signature (how a developer fixes a wrong one) and deleting a
 * version that never reached devices.
 */
export function register(app: CoreApp, deps: CoreDeps): void {
  const db = deps.portal;
  const write = requireAuth(db, 'apps:write');

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/apps/{id}/versions/{code}',
      tags: ['versions'],
      summary: "Replace a draft's signature",
      description:
        'Only while the version is a draft (409 otherwise). If its package is already uploaded, the new signature ' +
        'must verify over that package by one of your active signing keys (else 422 `signature_mismatch` and nothing ' +
        'changes); without a package it is checked at the upload.',
      security: BEARER,
      middleware: write,
      request: { params: Params, body: jsonBody(PatchBody) },
      responses: { 200: jsonResponse(VersionSchema, 'the version'), ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422) },
    }),
    (c) => {
      const who = caller(c);
      const params = c.req.valid('param');
      const { signature } = c.req.valid('json');
      const outcome = db.transaction(() => {
        const owned = loadOwnedApp(c, db, params.id);
        const code = parseCode(params.code);
        const current = versionByCode(db, owned.id, code);
        if (!current) throw ApiError.notFound('version not found');
        if (current.status !== 'draft') throw ApiError.conflict(`only a draft's signature can change; this version is ${current.status}`, { status: current.status });
        const signer = current.package_sha256 === null ? null : findSigner(db, who.developerId, current.package_sha256, signature);
        const details = { app_id: owned.id, version_code: code, sha256: current.package_sha256 };
        if (signer === undefined) {
          audit(c, db, { developerId: who.developerId, action: 'package.verification_failed', resourceType: 'version', resourceId: current.id, details });
          return { mismatch: details } as const;
        }
        const updated = setVersionSignature(db, owned.id, code, signature, signer?.id ?? null)!;
        audit(c, db, { developerId: who.developerId, action: 'version.signature_changed', resourceType: 'version', resourceId: current.id, details: { ...details, signing_key_id: signer?.id ?? null } });
        return { updated } as const;
      }).immediate();
      // The failure's audit row is committed; only then the 422.
      if ('mismatch' in outcome) throw signatureMismatch('the signature does not verify over the uploaded package with any of your active signing keys', outcome.mismatch);
      return c.json(publicVersion(outcome.updated), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/apps/{id}/versions/{code}',
      tags: ['versions'],
      summary: 'Delete a draft or rejected version',
      description:
        'A version in review, approved or published stays (409): devices may rely on it. Its package is removed ' +
        'after the grace period unless another version uses the same bytes.',
      security: BEARER,
      middleware: write,
      request: { params: Params },
      responses: { 204: { description: 'deleted' }, ...errorResponses(401, 403, 404, 409) },
    }),
    (c) => {
      const who = caller(c);
      const params = c.req.valid('param');
      db.transaction(() => {
        const owned = loadOwnedApp(c, db, params.id);
        const code = parseCode(params.code);
        const current = versionByCode(db, owned.id, code);
        if (!current) throw ApiError.notFound('version not found');
        const removed = deleteVersion(db, owned.id, code);
        if (!removed) throw ApiError.conflict(`only a draft or rejected version can be deleted; this version is ${current.status}`, { status: current.status });
        audit(c, db, {
          developerId: who.developerId,
          action: 'version.deleted',
          resourceType: 'version',
          resourceId: removed.id,
          details: { app_id: owned.id, version_code: code, sha256: removed.package_sha256 },
        });
      }).immediate();
      return c.body(null, 204);
    },
  );
}
