import { afterAll, beforeAll, expect, it } from 'vitest';
import { dayOfNumber } from '../../days.js';
import { PgTelemetryMaintenance } from './maintenance.js';
import { ensurePgPartitions } from './partitions.js';
import { pgTelemetryStats } from './stats.js';
import { createMigratedPgDatabase, describePg } from './testing.js';

/**
 * `ops stats` on PostgreSQL: per partition the rows (counted, or the planner's estimate once above the
 * bound) and the first and last day with rows, from the per-app index lookups, for both kinds.
 */

const DAY = 86_400_000;

describePg('PostgreSQL telemetry stats', () => {
  let db: Awaited<ReturnType<typeof createMigratedPgDatabase>>;
  beforeAll(async () => {
    db = await createMigratedPgDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('counts small partitions, estimates large ones, and gives each its date range', async () => {
    const { pool } = db;
    // Two apps in one month (days 3..12 and 5..20 of it), crashes on days 4 and 9; the next month empty.
    const month = '2026-03';
    const first = Date.UTC(2026, 2, 1) / DAY;
    await ensurePgPartitions(pool, 'events', [month, '2026-04']);
    await ensurePgPartitions(pool, 'crashes', [month]);
    await pool.query("INSERT INTO dim_apps (app_id, package_id) VALUES ('a', 'com.a'), ('b', 'com.b')");
    await pool.query("INSERT INTO dim_event_types (name) VALUES ('open')");
    const events: [string, number][] = [];
    for (let d = 2; d <= 11; d++) events.push(['a', first + d]);
    for (let d = 4; d <= 19; d++) events.push(['b', first + d]);
    await pool.query(
      `INSERT INTO telemetry_events (app_id, day, device_id, event_type, timestamp, received_at)
       SELECT (SELECT id FROM dim_apps WHERE app_id = r.app), r.day, 1, 1, r.day::bigint * 86400000, 0 FROM unnest($1::text[], $2::int[]) AS r(app, day)`,
      [events.map((e) => e[0]), events.map((e) => e[1])],
    );
    await pool.query(
      `INSERT INTO crash_reports (app_id, day, device_id, timestamp, fingerprint, crash_type, app_version, created_at)
       SELECT 2, d, 1, d::bigint * 86400000 + 5, 'fp', 'anr', '1', 0 FROM unnest($1::int[]) AS d`,
      [[first + 3, first + 8]],
    );
    const maintenance = new PgTelemetryMaintenance({ pool });
    const byName = async (opts?: { exactRowsMax: number }) => new Map((await pgTelemetryStats(pool, maintenance, opts)).partitions.map((p) => [p.name, p]));

    const exact = await byName();
    expect(exact.get('telemetry_events_2026_03')).toMatchObject({ rows: 26, estimated: false, firstDay: dayOfNumber(first + 2), lastDay: dayOfNumber(first + 19) });
    expect(exact.get('telemetry_events_2026_04')).toMatchObject({ rows: 0, estimated: false, firstDay: null, lastDay: null });
    expect(exact.get('crash_reports_2026_03')).toMatchObject({ rows: 2, estimated: false, firstDay: dayOfNumber(first + 3), lastDay: dayOfNumber(first + 8) });

    // Above the bound (after ANALYZE the planner knows the partition's size): the estimate, said so.
    await pool.query('ANALYZE telemetry_events_2026_03');
    const large = await byName({ exactRowsMax: 10 });
    expect(large.get('telemetry_events_2026_03')).toMatchObject({ rows: 26, estimated: true, firstDay: dayOfNumber(first + 2), lastDay: dayOfNumber(first + 19) });
    expect(large.get('crash_reports_2026_03')).toMatchObject({ rows: 2, estimated: false });

    const all = await pgTelemetryStats(pool, maintenance);
    expect(all.waiting).toEqual({ events: 26, crashes: 2 });
    expect(all.databaseBytes).toBeGreaterThan(0);
    expect(all.jobRuns).toEqual([]);
  });
});
