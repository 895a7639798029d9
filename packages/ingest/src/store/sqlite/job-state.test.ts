import { tempDir, type DB } from '@mosis/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRuns, LeaseBusyError, leaseHolder, MAINTENANCE_LEASE, recordJobEnd, recordJobStart, renewLease, tryAcquireLease, withMaintenanceLease } from './job-state.js';
import { LEASE_TTL_MS } from '../maintenance.js';
import { openMigratedTelemetry } from './testing.js';

const dir = tempDir();
let db: DB;
beforeAll(async () => {
  db = await openMigratedTelemetry(`${dir.path}/t.db`);
});
afterAll(() => {
  db.close();
  dir.cleanup();
});

describe('maintenance lease', () => {
  it('is held by one holder at a time until released or expired', () => {
    const t = 1_000_000;
    expect(tryAcquireLease(db, 'x', 'a', t)).toBe(true);
    expect(tryAcquireLease(db, 'x', 'b', t + 1)).toBe(false);
    expect(tryAcquireLease(db, 'x', 'a', t + 2)).toBe(true);
    expect(renewLease(db, 'x', 'b', t + 3)).toBe(false);
    expect(leaseHolder(db, 'x', t + 3)).toBe('a');
    // A crashed holder stops renewing: after the TTL someone else takes over, and the old one has lost it.
    expect(tryAcquireLease(db, 'x', 'b', t + 2 + LEASE_TTL_MS + 1)).toBe(true);
    expect(renewLease(db, 'x', 'a', t + 2 + LEASE_TTL_MS + 2)).toBe(false);
  });

  it('withMaintenanceLease waits, then gives up with LeaseBusyError naming the holder', async () => {
    expect(tryAcquireLease(db, MAINTENANCE_LEASE, 'ingest-elsewhere', Date.now())).toBe(true);
    await expect(withMaintenanceLease(db, { waitMs: 300 }, async () => 1)).rejects.toBeInstanceOf(LeaseBusyError);
    db.prepare('DELETE FROM job_leases').run();
    expect(await withMaintenanceLease(db, {}, async (renew) => (renew(), 42))).toBe(42);
    expect(leaseHolder(db, MAINTENANCE_LEASE, Date.now())).toBeUndefined();
  });
});

describe('job runs', () => {
  it('keeps the last run of each job and the time of its last success', () => {
    recordJobStart(db, 'rollup', 10);
    recordJobEnd(db, 'rollup', 20, { summary: { days: 3 } });
    recordJobStart(db, 'rollup', 30);
    recordJobEnd(db, 'rollup', 40, { error: new Error('disk full') });
    expect(jobRuns(db)).toEqual([{ job: 'rollup', started_at: 30, finished_at: 40, ok: 0, summary: null, error: 'disk full', last_ok_at: 20 }]);
  });
});
