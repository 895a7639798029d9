import type { DB } from '@mosis/shared';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { LEASE_TTL_MS, MaintenanceBusyError, type JobName, type JobRun } from '../maintenance.js';

/**
 * Bookkeeping shared by the jobs: the maintenance lease (one rollup or prune at a time across the ingest
 * process and `ops`) and the last run of each job (`job_runs`, shown by `ops stats`).
 */

/** The lease rollup and prune both take: they must not interleave (see rollup.ts on why). */
export const MAINTENANCE_LEASE = 'maintenance';
/** How often a waiting `ops` command retries a held lease. */
export const LEASE_POLL_MS = 250;
/**
 * A held lease is written again at most this often, however often a job calls `renew` (every step): each
 * write takes telemetry.db's write lock on the main thread, which waits there while the writer thread commits.
 */
export const LEASE_RENEW_INTERVAL_MS = LEASE_TTL_MS / 10;

/** A lease holder's identity: host, pid and a random suffix (two holders in one process differ). */
export function newHolderId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** Takes the lease if it is free, expired or already ours; true on success. */
export function tryAcquireLease(db: DB, name: string, holder: string, now: number): boolean {
  const res = db
    .prepare(
      `INSERT INTO job_leases (name, holder, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE job_leases.expires_at < ? OR job_leases.holder = excluded.holder`,
    )
    .run(name, holder, now + LEASE_TTL_MS, now);
  return res.changes === 1;
}

/** Extends a held lease; false if it was lost (expired and taken by someone else). */
export function renewLease(db: DB, name: string, holder: string, now: number): boolean {
  return db.prepare('UPDATE job_leases SET expires_at = ? WHERE name = ? AND holder = ?').run(now + LEASE_TTL_MS, name, holder).changes === 1;
}

export function releaseLease(db: DB, name: string, holder: string): void {
  db.prepare('DELETE FROM job_leases WHERE name = ? AND holder = ?').run(name, holder);
}

/** Who holds a lease now, if anyone. */
export function leaseHolder(db: DB, name: string, now: number): string | undefined {
  const row = db.prepare('SELECT holder FROM job_leases WHERE name = ? AND expires_at >= ?').get(name, now) as { holder: string } | undefined;
  return row?.holder;
}

/** Thrown when the lease stays held by someone else for longer than the caller waits. */
export class LeaseBusyError extends MaintenanceBusyError {
  override readonly name = 'LeaseBusyError';
  constructor(holder: string) {
    super(`another rollup or prune is running (${holder})`, holder);
  }
}

/**
 * Runs `fn` holding the maintenance lease, waiting up to `waitMs` for it. `renew` (passed to `fn`) extends
 * it; jobs call it between steps.
 */
export async function withMaintenanceLease<T>(
  db: DB,
  opts: { waitMs?: number; now?: () => number },
  fn: (renew: () => void) => Promise<T>,
): Promise<T> {
  const now = opts.now ?? Date.now;
  const holder = newHolderId();
  const deadline = Date.now() + (opts.waitMs ?? 0);
  while (!tryAcquireLease(db, MAINTENANCE_LEASE, holder, now())) {
    if (Date.now() >= deadline) throw new LeaseBusyError(leaseHolder(db, MAINTENANCE_LEASE, now()) ?? 'unknown');
    await new Promise((r) => setTimeout(r, LEASE_POLL_MS));
  }
  let renewedAt = now();
  try {
    return await fn(() => {
      const t = now();
      if (t - renewedAt < LEASE_RENEW_INTERVAL_MS) return;
      if (!renewLease(db, MAINTENANCE_LEASE, holder, t)) throw new Error('maintenance lease lost');
      renewedAt = t;
    });
  } finally {
    releaseLease(db, MAINTENANCE_LEASE, holder);
  }
}

export function recordJobStart(db: DB, job: JobName, now: number): void {
  db.prepare(
    `INSERT INTO job_runs (job, started_at, finished_at, ok, summary, error) VALUES (?, ?, NULL, NULL, NULL, NULL)
     ON CONFLICT (job) DO UPDATE SET started_at = excluded.started_at, finished_at = NULL, ok = NULL, summary = NULL, error = NULL`,
  ).run(job, now);
}

export function recordJobEnd(db: DB, job: JobName, now: number, outcome: { summary?: unknown; error?: unknown }): void {
  const ok = outcome.error === undefined;
  db.prepare(
    'UPDATE job_runs SET finished_at = ?, ok = ?, summary = ?, error = ?, last_ok_at = CASE WHEN ? THEN ? ELSE last_ok_at END WHERE job = ?',
  ).run(
    now,
    ok ? 1 : 0,
    outcome.summary === undefined ? null : JSON.stringify(outcome.summary),
    outcome.error === undefined ? null : String((outcome.error as Error)?.message ?? outcome.error),
    ok ? 1 : 0,
    now,
    job,
  );
}

/** Last run of every job, for `ops stats`. */
export function jobRuns(db: DB): JobRun[] {
  return db.prepare('SELECT job, started_at, finished_at, ok, summary, error, last_ok_at FROM job_runs ORDER BY job').all() as JobRun[];
}
