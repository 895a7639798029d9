import type { DB } from '@mosis/shared';
import type { CoreContext } from './context.js';
import { insertAudit, type AuditEntry } from './store/audit.js';

/** The audit actions this API writes, one per kind of mutation. */
export type AuditAction =
  | 'developer.registered'
  | 'session.login'
  | 'session.login_failed'
  | 'session.logout'
  | 'api_key.created'
  | 'api_key.revoked'
  | 'signing_key.created'
  | 'signing_key.deactivated'
  | 'app.created'
  | 'app.updated'
  | 'app.deleted'
  | 'version.created'
  | 'version.submitted'
  | 'version.approved'
  | 'version.rejected'
  | 'version.published'
  | 'app.suspended'
  | 'app.reinstated'
  | 'version.deleted'
  | 'version.signature_changed'
  | 'package.uploaded'
  | 'package.verification_failed'
  | 'package.removed';

/**
 * Writes one audit row for a mutation, with the request's client IP and user agent. Call it in the same
 * transaction as the change where there is one, so a change is never without its row.
 */
export function audit(
  c: CoreContext,
  db: DB,
  entry: Omit<AuditEntry, 'ip' | 'userAgent' | 'action'> & { action: AuditAction },
): void {
  const client = c.get('client') ?? { ip: null, userAgent: null };
  insertAudit(db, { ...entry, ip: client.ip, userAgent: client.userAgent });
}
