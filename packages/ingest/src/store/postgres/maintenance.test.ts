import { afterAll, beforeAll, expect, it } from 'vitest';
import { deviceLockKey, hash32, LOCK_NS_DEVICE, LOCK_NS_JOBS } from './locks.js';
import { PgLeaseBusyError, PgTelemetryMaintenance } from './maintenance.js';
import { openPgPool, type PgPool } from './pool.js';
import { createMigratedPgDatabase, describePg } from './testing.js';
import { PgTelemetryWriter } from './writer.js';
import { eventRecord } from '../contract/backends.js';

// What only the PostgreSQL backend has: several processes, so a lease between them, bounded write
// transactions, and a rollup that reads only up to a settled position.
describePg('PostgreSQL maintenance: lease, bounded writes, settled position', () => {
  let db: Awaited<ReturnType<typeof createMigratedPgDatabase>>;
  const pools: PgPool[] = [];
  const pool = () => {
    const p = openPgPool(db.url);
    pools.push(p);
    return p;
  };
  beforeAll(async () => {
    db = await createMigratedPgDatabase();
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await db?.close();
  });

  it('lets one process at a time hold a job lease, and frees it when the holder\'s connection dies', async () => {
    const a = new PgTelemetryMaintenance({ pool: pool() });
    const b = new PgTelemetryMaintenance({ pool: pool() });
    let release!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const held = a.withLease('maintenance', () => {
      entered();
      return new Promise<string>((r) => (release = () => r('a ran')));
    });
    await inside;
    await expect(b.withLease('maintenance', async () => 'b ran')).rejects.toThrow(PgLeaseBusyError);
    await expect(b.withLease('maintenance', async () => 'b ran')).rejects.toThrow(/maintenance is running in another process \(.+:\d+:/);
    // Another job name is another lease.
    expect(await b.withLease('other', async () => 'b ran')).toBe('b ran');
    release();
    expect(await held).toBe('a ran');
    expect(await b.withLease('maintenance', async () => 'b ran')).toBe('b ran');

    // A holder that dies mid-run (its session ends) frees the lease for the next process.
    const dying = pool();
    const c = new PgTelemetryMaintenance({ pool: dying });
    let unstick: (() => void) | undefined;
    let cEntered!: () => void;
    const cInside = new Promise<void>((r) => (cEntered = r));
    const stuck = c.withLease('maintenance', () => {
      cEntered();
      return new Promise<void>((r) => (unstick = r));
    });
    void stuck.catch(() => {});
    // Once c holds it, end its session from outside, as a crash would.
    await cInside;
    const holder = await db.pool.query<{ pid: number }>(
      `SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = $1 AND l.objid::bigint = $2
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [LOCK_NS_JOBS, hash32('maintenance') >>> 0],
    );
    expect(holder.rows).toHaveLength(1);
    await db.pool.query('SELECT pg_terminate_backend($1)', [holder.rows[0]!.pid]);
    for (let i = 0; ; i++) {
      try {
        expect(await b.withLease('maintenance', async () => 'b after crash')).toBe('b after crash');
        break;
      } catch (err) {
        // The terminated backend releases its locks as it exits: a moment after pg_terminate_backend returns.
        if (!(err instanceof PgLeaseBusyError) || i > 1000) throw err;
        await new Promise((r) => setImmediate(r));
      }
    }
    // The dead holder's run ends; its connection goes back to the pool and is dropped.
    unstick?.();
    await stuck.catch(() => {});
  });

  it('bounds a write transaction: one stuck behind a lock fails after its timeout and stores nothing', async () => {
    const writer = new PgTelemetryWriter(pool(), { maxEventTypesPerApp: 1000, txTimeoutMs: 150 });
    const e = eventRecord({ appId: 'stuck', deviceHash: 77n });
    // Warm the writer (partitions, dimension ids), then hold its (app, device) lock from another session.
    await writer.write([{ kind: 'events', rows: [eventRecord({ appId: 'stuck', deviceHash: 78n })] }]);
    const blocker = await db.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NS_DEVICE, deviceLockKey('stuck', 77n)]);
      await expect(writer.write([{ kind: 'events', rows: [e] }])).rejects.toThrow(/statement timeout|transaction timeout/);
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    const n = await db.pool.query<{ n: bigint }>("SELECT count(*) AS n FROM telemetry_events t JOIN dim_apps a ON a.id = t.app_id WHERE a.app_id = 'stuck'");
    expect(n.rows[0]!.n).toBe(1n);
    expect(await writer.write([{ kind: 'events', rows: [e] }])).toEqual([{ stored: 1, duplicates: 0 }]);
  });

  it('folds only up to a sample older than the settle delay, and records its runs', async () => {
    const p = pool();
    const writer = new PgTelemetryWriter(p, { maxEventTypesPerApp: 1000 });
    await writer.write([{ kind: 'events', rows: Array.from({ length: 10 }, () => eventRecord({ appId: 'settle', deviceHash: 5n })) }]);
    // Every sample so far is younger than an hour: nothing is settled yet.
    const patient = new PgTelemetryMaintenance({ pool: p, settleMs: 3_600_000 });
    expect(await patient.rollup()).toMatchObject({ rows: 0, steps: 0 });
    expect((await patient.rowsWaiting()).events).toBeGreaterThanOrEqual(10n);
    const eager = new PgTelemetryMaintenance({ pool: p, settleMs: 0 });
    const stats = await eager.runJob('rollup', () => eager.rollup());
    expect(stats.rows).toBeGreaterThanOrEqual(10);
    const runs = await eager.jobRuns();
    expect(runs).toEqual([expect.objectContaining({ job: 'rollup', ok: 1, error: null })]);
    expect(JSON.parse(runs[0]!.summary!)).toMatchObject({ rows: stats.rows });
    expect((await eager.rowsWaiting()).events).toBe(0n);
    // With a short delay, a run right after a write waits it out once and folds the write.
    await writer.write([{ kind: 'events', rows: Array.from({ length: 7 }, () => eventRecord({ appId: 'settle', deviceHash: 6n })) }]);
    expect(await new PgTelemetryMaintenance({ pool: p, settleMs: 200 }).rollup()).toMatchObject({ rows: 7 });
  });
});
