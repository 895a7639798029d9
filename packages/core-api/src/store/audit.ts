import type { DB } from '@mosis/shared';
import { perDb } from './prepare.js';

export interface AuditRow {
  id: number;
  developer_id: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  details: string | null;
  ip_address: string | null;
  user_agent: string | null;
  created_at: string;
}

export interface AuditEntry {
  developerId: string | null;
  action: string;
  resourceType?: string;
  resourceId?: string;
  /** Non-secret facts about the change (never a password, token or key). */
  details?: Record<string, unknown>;
  ip: string | null;
  userAgent: string | null;
}

const stmts = perDb((db) => ({
  insert: db.prepare<[string | null, string, string | null, string | null, string | null, string | null, string | null]>(
    `INSERT INTO audit_logs (developer_id, action, resource_type, resource_id, details, ip_address, user_agent)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ),
  firstPage: db.prepare<[string, number]>('SELECT * FROM audit_logs WHERE developer_id = ? ORDER BY id DESC LIMIT ?'),
  nextPage: db.prepare<[string, number, number]>(
    'SELECT * FROM audit_logs WHERE developer_id = ? AND id < ? ORDER BY id DESC LIMIT ?',
  ),
}));

/** Appends one row to audit_logs. */
export function insertAudit(db: DB, e: AuditEntry): void {
  stmts(db).insert.run(
    e.developerId,
    e.action,
    e.resourceType ?? null,
    e.resourceId ?? null,
    e.details ? JSON.stringify(e.details) : null,
    e.ip,
    e.userAgent,
  );
}

/** A page of a developer's audit trail, newest first; `before` is the id of the last row seen. */
export function listAudit(db: DB, developerId: string, limit: number, before?: number): AuditRow[] {
  const s = stmts(db);
  return (before === undefined ? s.firstPage.all(developerId, limit) : s.nextPage.all(developerId, before, limit)) as AuditRow[];
}

export function publicAudit(row: AuditRow) {
  let details: unknown = null;
  try {
    details = row.details ? JSON.parse(row.details) : null;
  } catch {
    details = null;
  }
  return {
    id: row.id,
    action: row.action,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    details,
    ip_address: row.ip_address,
    user_agent: row.user_agent,
    created_at: row.created_at,
  };
}
