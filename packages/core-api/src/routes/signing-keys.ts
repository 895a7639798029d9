import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '@mosis/shared';
import { audit } from '../audit.js';
import { decodeSignature, MAX_PUBLIC_KEY_CHARS, parseEd25519PublicKey, proofMessage, verifyEd25519 } from '../auth/ed25519.js';
import { requireAuth } from '../auth/middleware.js';
import { caller, type CoreApp, type CoreDeps } from '../context.js';
import { MAX_SIGNING_KEYS_PER_DEVELOPER } from '../limits.js';
import { BEARER, errorResponses, IdParam, jsonBody, jsonResponse } from '../openapi.js';
import { decodeCursor, pageQuerySchema, pageSchema, seqCursorSchema, toPage } from '../pagination.js';
import { DisplayNameSchema } from '../schemas.js';
import {
  countSigningKeys,
  deactivateSigningKey,
  hasActiveFingerprint,
  insertSigningKeyUnlessActive,
  listSigningKeys,
  publicSigningKey,
} from '../store/signing-keys.js';

const SigningKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    public_key: z.string().openapi({ description: 'Ed25519 public key, PEM (SPKI)' }),
    fingerprint: z.string().openapi({ description: 'hex SHA-256 of the raw 32-byte public key' }),
    active: z.boolean(),
    created_at: z.string(),
  })
  .openapi('SigningKey');

const CreateBody = z
  .object({
    name: DisplayNameSchema,
    public_key: z.string().max(MAX_PUBLIC_KEY_CHARS),
    // Optional for the parser only: a missing proof is the contract's 400 `invalid_proof`, not `invalid_body`.
    proof: z.string().max(256).optional().openapi({
      description:
        'required: base64 Ed25519 signature, by this key, of the UTF-8 text `mosis-signing-key:` + your developer id (GET /v1/me). ' +
        'Missing or not verifying: 400 `invalid_proof`',
    }),
  })
  .openapi('CreateSigningKeyRequest');

/** 400 `invalid_proof`: the caller did not show they hold the private key. */
function invalidProof(why: string): ApiError {
  return new ApiError(400, 'invalid_proof', `proof: ${why}`, [{ path: 'proof', message: why }]);
}

/** Signing keys: Ed25519 public keys developers sign packages with. Needs `keys:write`. */
export function register(app: CoreApp, deps: CoreDeps): void {
  const db = deps.portal;
  const guard = requireAuth(db, 'keys:write');

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/signing-keys',
      tags: ['signing keys'],
      summary: 'Add an Ed25519 public signing key',
      description:
        'The key must be an Ed25519 public key in PEM; anything else is a 400 and is not stored. `proof` shows you hold its ' +
        'private key: its signature of `mosis-signing-key:<your developer id>`. A key is active on one account at most ' +
        '(409 while it is active anywhere).',
      security: BEARER,
      middleware: guard,
      request: { body: jsonBody(CreateBody) },
      responses: { 201: jsonResponse(SigningKeySchema, 'the key'), ...errorResponses(400, 401, 403, 409, 413, 415) },
    }),
    (c) => {
      const who = caller(c);
      const body = c.req.valid('json');
      const { pem, fingerprint } = parseEd25519PublicKey(body.public_key);
      if (body.proof === undefined) throw invalidProof('required: sign `mosis-signing-key:` + your developer id with this key');
      const proof = decodeSignature(body.proof);
      if (!proof) throw invalidProof('must be a 64-byte Ed25519 signature in base64');
      if (!verifyEd25519(pem, proofMessage(who.developerId), proof)) {
        throw invalidProof('does not verify: it must be this key\'s signature of `mosis-signing-key:` + your developer id');
      }
      const row = db.transaction(() => {
        if (hasActiveFingerprint(db, who.developerId, fingerprint)) throw ApiError.conflict('this key is already registered', { fingerprint });
        if (countSigningKeys(db, who.developerId) >= MAX_SIGNING_KEYS_PER_DEVELOPER) {
          throw ApiError.conflict(`at most ${MAX_SIGNING_KEYS_PER_DEVELOPER} signing keys per account`);
        }
        const created = insertSigningKeyUnlessActive(db, who.developerId, body.name, pem, fingerprint);
        if (!created) throw ApiError.conflict('this key is already active on an account', { fingerprint });
        audit(c, db, { developerId: who.developerId, action: 'signing_key.created', resourceType: 'signing_key', resourceId: created.id, details: { name: created.name, fingerprint } });
        return created;
      }).immediate();
      return c.json(publicSigningKey(row), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/signing-keys',
      tags: ['signing keys'],
      summary: "List the caller's signing keys, newest first",
      security: BEARER,
      middleware: guard,
      request: { query: pageQuerySchema },
      responses: { 200: jsonResponse(pageSchema(SigningKeySchema), 'a page of keys'), ...errorResponses(400, 401, 403) },
    }),
    (c) => {
      const { limit, cursor } = c.req.valid('query');
      const rows = listSigningKeys(db, caller(c).developerId, limit + 1, decodeCursor(cursor, seqCursorSchema));
      return c.json(toPage(rows, limit, publicSigningKey, (r) => r.seq), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/signing-keys/{id}',
      tags: ['signing keys'],
      summary: 'Deactivate a signing key',
      description: 'The key stays listed (active: false) so that old signatures can still be traced to it.',
      security: BEARER,
      middleware: guard,
      request: { params: z.object({ id: IdParam }) },
      responses: { 204: { description: 'deactivated' }, ...errorResponses(401, 403, 404) },
    }),
    (c) => {
      const who = caller(c);
      const { id } = c.req.valid('param');
      db.transaction(() => {
        const row = deactivateSigningKey(db, who.developerId, id);
        if (!row) throw ApiError.notFound('signing key not found');
        audit(c, db, { developerId: who.developerId, action: 'signing_key.deactivated', resourceType: 'signing_key', resourceId: id, details: { fingerprint: row.fingerprint } });
      }).immediate();
      return c.body(null, 204);
    },
  );
}
