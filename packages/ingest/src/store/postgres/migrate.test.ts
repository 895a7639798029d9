import { afterAll, beforeAll, expect, it } from 'vitest';
import { migratePgDown, migratePgUp, pgMigrationStatus } from './migrate.js';
import { openPgPool, type PgPool } from './pool.js';
import { createTestPgDatabase, describePg, type TestPgDatabase } from './testing.js';

// The telemetry schema's migrations on a real PostgreSQL server (the run's one, see test-server.ts).
describePg('telemetry migrations on PostgreSQL', () => {
  let db: TestPgDatabase;
  const pools: PgPool[] = [];
  const pool = () => {
    const p = openPgPool(db.url);
    pools.push(p);
    return p;
  };
  beforeAll(async () => {
    db = await createTestPgDatabase();
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await db?.drop();
  });

  const tables = async (p: PgPool) =>
    (await p.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((r) => r.t);

  it('two processes migrating at once apply each migration exactly once', async () => {
    const [a, b] = [pool(), pool()];
    const [ra, rb] = await Promise.all([migratePgUp(a), migratePgUp(b)]);
    // One of them applied everything, the other found nothing pending (it waited on the lock).
    expect([...ra, ...rb].sort()).toEqual((await pgMigrationStatus(a)).executed);
    expect(ra.length === 0 || rb.length === 0).toBe(true);
    expect((await pgMigrationStatus(b)).pending).toEqual([]);
    expect(await tables(a)).toEqual(expect.arrayContaining([
      'telemetry_events', 'crash_reports', 'dim_apps', 'dim_event_types', 'app_event_types', 'telemetry_daily',
      'telemetry_daily_dims', 'device_days', 'crash_daily', 'crash_daily_devices', 'retention_watermark',
      'rollup_positions', 'job_runs', 'job_leases', 'app_registry', 'schema_migrations',
    ]));
  });

  it('raw tables are partitioned by day range', async () => {
    const res = await pool().query<{ t: string; strategy: string; key: string }>(
      `SELECT c.relname AS t, p.partstrat AS strategy, pg_get_partkeydef(c.oid) AS key
       FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid ORDER BY 1`,
    );
    expect(res.rows).toEqual([
      { t: 'crash_reports', strategy: 'r', key: 'RANGE (day)' },
      { t: 'telemetry_events', strategy: 'r', key: 'RANGE (day)' },
    ]);
  });

  it('down to 0 removes every table but the record, and up again restores them', async () => {
    const p = pool();
    const before = await tables(p);
    await migratePgDown(p, 0);
    expect(await tables(p)).toEqual(['schema_migrations']);
    expect((await pgMigrationStatus(p)).executed).toEqual([]);
    await migratePgUp(p);
    expect(await tables(p)).toEqual(before);
  });
});
