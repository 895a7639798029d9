import { ApiError, type DB } from '@mosis/shared';
import type { AuditAction } from '../audit.js';
import { invisibleCharacter, invisibleMessage } from '../schemas.js';
import { appById, appByPackage, setAppStatus, type AppRow } from '../store/apps.js';
import { insertAudit } from '../store/audit.js';
import { nowIso } from '../store/prepare.js';
import {
  latestPublishedVersion,
  transitionVersion,
  versionByCode,
  versionsInStatus,
  type QueuedVersion,
  type VersionRow,
  type VersionStatus,
} from '../store/versions.js';
import { packageMissing } from '../package-files/errors.js';

/**
 * The operator's side of version review, shared by `/v1/admin/...` and `ops review`:
 * draft → review (the developer submits) → approved → published, or → rejected with notes.
 * Publishing stamps published_at and puts the app in the catalog; suspending takes it out.
 */

export type ReviewDecision = 'approve' | 'reject' | 'publish';

/** Who made a decision, for the developer's audit trail. */
export interface Actor {
  /** `admin` (HTTP, ADMIN_TOKEN) or `ops` (command line). */
  via: 'admin' | 'ops';
  ip: string | null;
  userAgent: string | null;
}

/** Longest review or suspension note. */
export const MAX_REVIEW_NOTES_CHARS = 4000;

const TRANSITIONS: Record<ReviewDecision, { from: VersionStatus[]; to: VersionStatus; action: AuditAction }> = {
  approve: { from: ['review'], to: 'approved', action: 'version.approved' },
  reject: { from: ['review', 'approved'], to: 'rejected', action: 'version.rejected' },
  publish: { from: ['approved'], to: 'published', action: 'version.published' },
};

/** The developer reads notes and reasons: the ops command line must not slip in what the HTTP schemas refuse. */
function refuseInvisible(field: string, text: string | undefined): void {
  if (text !== undefined && invisibleCharacter(text) !== undefined) {
    const message = invisibleMessage(text);
    throw ApiError.badRequest(`${field}: ${message}`, [{ path: field, message }]);
  }
}

/** Versions in `status` (default: waiting for review) across all apps, oldest first. */
export function reviewQueue(db: DB, status: VersionStatus = 'review', limit = 100): QueuedVersion[] {
  return versionsInStatus(db, status, limit);
}

/** Finds an app by its id or its package_id (operators know the latter); 404 otherwise. */
export function findApp(db: DB, ref: string): AppRow {
  const app = appById(db, ref) ?? appByPackage(db, ref);
  if (!app) throw ApiError.notFound(`no app ${ref}`);
  return app;
}

/**
 * Applies a review decision to version `code` of app `ref` (id or package_id), in one transaction with
 * its audit row (written to the app owner's trail). 404 for no such app or version, 409 when the version is
 * not in a state the decision applies to, 400 for a rejection without notes.
 */
export function decide(db: DB, ref: string, code: number, decision: ReviewDecision, actor: Actor, notes?: string): VersionRow {
  const rule = TRANSITIONS[decision];
  const text = notes?.trim();
  if (decision === 'reject' && !text) throw ApiError.badRequest('notes: a rejection needs notes for the developer', [{ path: 'notes', message: 'required' }]);
  if (text && text.length > MAX_REVIEW_NOTES_CHARS) throw ApiError.badRequest(`notes: must be at most ${MAX_REVIEW_NOTES_CHARS} characters`);
  refuseInvisible('notes', text);
  return db.transaction(() => {
    const app = findApp(db, ref);
    const current = versionByCode(db, app.id, code);
    if (!current) throw ApiError.notFound(`app ${app.package_id} has no version ${code}`);
    if (!rule.from.includes(current.status)) {
      throw ApiError.conflict(`cannot ${decision} a version that is ${current.status} (needs ${rule.from.join(' or ')})`, { status: current.status });
    }
    // Only verified bytes reach devices (a version submitted before uploads existed has none).
    if (decision !== 'reject' && current.package_sha256 === null) throw packageMissing();
    const now = nowIso();
    const moved = transitionVersion(db, app.id, code, current.status, rule.to, {
      reviewNotes: text,
      publishedAt: decision === 'publish' ? now : undefined,
    });
    if (!moved) throw ApiError.conflict('the version changed meanwhile; try again');
    if (decision === 'publish' && app.status === 'draft') setAppStatus(db, app.id, 'published', now);
    insertAudit(db, {
      developerId: app.developer_id,
      action: rule.action,
      resourceType: 'version',
      resourceId: moved.id,
      details: { app_id: app.id, package_id: app.package_id, version_code: code, by: actor.via, ...(text ? { notes: text } : {}) },
      ip: actor.ip,
      userAgent: actor.userAgent,
    });
    return moved;
  }).immediate();
}

/**
 * Suspends an app (out of the catalog; ingest refuses its events) or reinstates it (published again if it
 * has a published version, else a draft).
 */
export function setSuspended(db: DB, ref: string, suspended: boolean, actor: Actor, reason?: string): AppRow {
  refuseInvisible('reason', reason);
  return db.transaction(() => {
    const app = findApp(db, ref);
    if (suspended === (app.status === 'suspended')) {
      throw ApiError.conflict(suspended ? 'the app is already suspended' : 'the app is not suspended', { status: app.status });
    }
    const status = suspended ? 'suspended' : latestPublishedVersion(db, app.id) ? 'published' : 'draft';
    const updated = setAppStatus(db, app.id, status, nowIso())!;
    const why = reason?.trim().slice(0, MAX_REVIEW_NOTES_CHARS);
    insertAudit(db, {
      developerId: app.developer_id,
      action: suspended ? 'app.suspended' : 'app.reinstated',
      resourceType: 'app',
      resourceId: app.id,
      details: { package_id: app.package_id, by: actor.via, ...(why ? { reason: why } : {}) },
      ip: actor.ip,
      userAgent: actor.userAgent,
    });
    return updated;
  }).immediate();
}
