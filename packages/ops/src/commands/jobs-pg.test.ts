import { ensurePgPartitions, openPgOperatorSession, type PgOperatorSession } from '@mosis/ingest';
import { createMigratedPgDatabase, createTestPgDatabase, describePg } from '@mosis/ingest/testing-pg';
import { freePort, tempDir } from '@mosis/shared';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runOps } from '../testing.js';

/**
 * `ops rollup [--from --to]`, `ops prune [--dry-run]` and `ops stats` with TELEMETRY_DATABASE_URL set act on
 * PostgreSQL (never on telemetry.db): the jobs under the maintenance lease, recorded in job_runs, waiting for a held
 * lease and then failing clearly; a dry run changes nothing; a bad URL is one clear line and a non-zero exit.
 */

const DAY = 86_400_000;
const dir = tempDir();
let pg: Awaited<ReturnType<typeof createMigratedPgDatabase>>;
const ops = (argv: string[], env: NodeJS.ProcessEnv = {}) => runOps(argv, { TELEMETRY_DATABASE_URL: pg.url, ...env });

/** Raw events as the ingest writer stores them (one app, one event type), with their month partitions. */
async function insertEvents(rows: { ts: number; device: number }[]): Promise<void> {
  await pg.pool.query("INSERT INTO dim_apps (app_id, package_id) VALUES ('app-1', 'com.dev.one') ON CONFLICT DO NOTHING");
  await pg.pool.query("INSERT INTO dim_event_types (name) VALUES ('app_open') ON CONFLICT DO NOTHING");
  await ensurePgPartitions(pg.pool, 'events', rows.map((r) => new Date(r.ts).toISOString().slice(0, 7)));
  await pg.pool.query(
    `INSERT INTO telemetry_events (app_id, day, device_id, event_type, timestamp, received_at)
     SELECT (SELECT id FROM dim_apps WHERE app_id = 'app-1'), ts / 86400000, device, (SELECT id FROM dim_event_types WHERE name = 'app_open'), ts, ts
     FROM unnest($1::bigint[], $2::bigint[]) AS r(ts, device)`,
    [rows.map((r) => r.ts), rows.map((r) => r.device)],
  );
}

/** Crash reports as the ingest writer stores them: two a day, from two devices on two app versions. */
async function insertCrashes(days: number[]): Promise<void> {
  const ts = days.flatMap((d) => [Date.now() - d * DAY, Date.now() - d * DAY + 1]);
  await ensurePgPartitions(pg.pool, 'crashes', ts.map((t) => new Date(t).toISOString().slice(0, 7)));
  await pg.pool.query(
    `INSERT INTO crash_reports (app_id, day, device_id, timestamp, fingerprint, crash_type, app_version, message, created_at)
     SELECT (SELECT id FROM dim_apps WHERE app_id = 'app-1'), ts / 86400000, 7 + ord % 2, ts, 'fp', 'anr', '1.' || (ord % 2), 'boom', ts
     FROM unnest($1::bigint[]) WITH ORDINALITY AS r(ts, ord)`,
    [ts],
  );
}

const count = async (sql: string) => Number((await pg.pool.query<{ n: bigint }>(sql)).rows[0]!.n);
/** What a dry run must leave as it was: raw rows, partitions, aggregates, job runs, the rollup's positions. */
const snapshot = async () => ({
  events: await count('SELECT count(*) AS n FROM telemetry_events'),
  partitions: (await pg.pool.query('SELECT name FROM telemetry_partitions ORDER BY name')).rows,
  daily: await count('SELECT count(*) AS n FROM telemetry_daily'),
  runs: (await pg.pool.query('SELECT * FROM job_runs ORDER BY job')).rows,
  positions: (await pg.pool.query('SELECT * FROM rollup_positions ORDER BY kind')).rows,
});

describePg('ops rollup, prune, stats on PostgreSQL', () => {
  beforeAll(async () => {
    process.env.DATA_DIR = `${dir.path}/data`;
    pg = await createMigratedPgDatabase();
  });
  afterAll(async () => {
    await pg?.close();
    dir.cleanup();
  });

  it('roll up what is waiting, prune with and without --dry-run, and report stats, all on PostgreSQL', async () => {
    const now = Date.now();
    // 200 days of history (one event a day), today twice.
    await insertEvents(Array.from({ length: 200 }, (_, i) => ({ ts: now - i * DAY, device: i % 3 })));
    await insertEvents([{ ts: now, device: 42 }]);
    await insertCrashes(Array.from({ length: 11 }, (_, i) => i));

    const stats1 = await ops(['stats']);
    expect(stats1.err).toBe('');
    expect(stats1.code).toBe(0);
    expect(stats1.out).toMatch(/telemetry on PostgreSQL +postgres:\/\/postgres:\*\*\*@/);
    expect(stats1.out).toMatch(/database size \d/);
    expect(stats1.out).toContain('waiting for rollup: 223 rows');
    expect(stats1.out).toContain('last rollup: never');
    const today = new Date(now).toISOString().slice(0, 10);
    expect(stats1.out).toMatch(new RegExp(`telemetry_events_${today.slice(0, 7).replace('-', '_')} +\\d+ rows  \\d{4}-\\d{2}-\\d{2} \\.\\. ${today}`));
    expect(stats1.out).not.toContain('telemetry.db');

    const rolled = await ops(['rollup']);
    expect(rolled.err).toBe('');
    expect(rolled.code).toBe(0);
    expect(rolled.out).toMatch(/raw rows folded in +223/);
    expect(rolled.out).toMatch(/days closed \(sketched\) +\d+/);
    expect((await pg.pool.query('SELECT count, unique_devices FROM telemetry_daily WHERE date = $1', [today])).rows).toEqual([{ count: 2n, unique_devices: 2n }]);
    expect((await pg.pool.query("SELECT ok FROM job_runs WHERE job = 'rollup'")).rows).toEqual([{ ok: true }]);
    // The SQLite store was never opened, nor created.
    expect(existsSync(`${dir.path}/data/telemetry.db`)).toBe(false);

    // A rebuild of the last 10 days gives back exactly what the incremental rollup made, open and closed days alike.
    const from = new Date(now - 10 * DAY).toISOString().slice(0, 10);
    const aggregates = async () => ({
      daily: (await pg.pool.query('SELECT * FROM telemetry_daily WHERE date >= $1 ORDER BY app_id, date, event_type', [from])).rows,
      dims: (await pg.pool.query('SELECT * FROM telemetry_daily_dims WHERE date >= $1 ORDER BY app_id, date, dim, value', [from])).rows,
      devices: (await pg.pool.query('SELECT * FROM device_days ORDER BY app, day, dim, value, device')).rows,
      crashes: (await pg.pool.query('SELECT * FROM crash_daily WHERE date >= $1 ORDER BY app_id, date, fingerprint', [from])).rows,
      crashDevices: (await pg.pool.query('SELECT * FROM crash_daily_devices WHERE date >= $1 ORDER BY app_id, date, fingerprint, device_id', [from])).rows,
    });
    const folded = await aggregates();
    expect(folded.dims.filter((d) => d.sketch !== null).length).toBeGreaterThan(0);
    expect(folded.devices.length).toBeGreaterThan(0);
    expect(folded.crashes.map((c) => c.count)).toEqual(Array(11).fill(2n));
    await pg.pool.query('UPDATE telemetry_daily SET count = 1000, unique_devices = 1000, sketch = NULL WHERE date >= $1', [from]);
    await pg.pool.query('DELETE FROM telemetry_daily_dims WHERE date = $1', [today]);
    await pg.pool.query('INSERT INTO device_days (app, day, dim, value, device) SELECT DISTINCT app, day, dim, value, 999999 FROM device_days');
    await pg.pool.query(`UPDATE crash_daily SET count = 99, devices = 99, app_versions = '["9.9"]' WHERE date >= $1`, [from]);
    await pg.pool.query('INSERT INTO crash_daily_devices (app_id, date, fingerprint, device_id) SELECT DISTINCT app_id, date, fingerprint, 999999 FROM crash_daily_devices');
    const rebuilt = await ops(['rollup', '--from', from, '--to', today]);
    expect(rebuilt.err).toBe('');
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.out).toContain(`rebuilt ${from} .. ${today}`);
    // 11 days, one event each and today one more, two crashes each; one app, events and crashes.
    expect(rebuilt.out).toMatch(/raw rows read +34$/m);
    expect(rebuilt.out).toMatch(/day aggregates written +22$/m);
    expect(await aggregates()).toEqual(folded);

    const before = await snapshot();
    expect(before.events).toBe(201);
    const dry = await ops(['prune', '--dry-run']);
    expect(dry.err).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/dry run: retention 90 days: raw rows before \d{4}-\d{2}-\d{2} would go/);
    expect(dry.out).toMatch(/would drop +telemetry_events_\d{4}_\d{2} +\d+ rows/);
    expect(dry.out).toMatch(/would trim +telemetry_events_\d{4}_\d{2} +\d+ rows/);
    expect(await snapshot()).toEqual(before);

    const pruned = await ops(['prune']);
    expect(pruned.err).toBe('');
    expect(pruned.code).toBe(0);
    expect(pruned.out).toMatch(/^ {2}drop +telemetry_events_/m);
    expect(pruned.out).toMatch(/database: \d.* -> \d/);
    const after = await count('SELECT count(*) AS n FROM telemetry_events');
    expect(after).toBeGreaterThanOrEqual(91);
    expect(after).toBeLessThanOrEqual(92);
    expect(await count('SELECT count(*) AS n FROM telemetry_daily')).toBe(200);
    expect((await pg.pool.query("SELECT ok FROM job_runs WHERE job = 'prune'")).rows).toEqual([{ ok: true }]);

    // The day before the retention watermark keeps its aggregates: its raw rows are gone (trimmed from the
    // boundary month, which stays, unless the watermark is a month's first day).
    const gone = new Date(now - 91 * DAY).toISOString().slice(0, 10);
    const kept = (await pg.pool.query('SELECT * FROM telemetry_daily WHERE date = $1', [gone])).rows;
    expect(kept).toHaveLength(1);
    expect((await ops(['rollup', '--from', gone, '--to', gone])).code).toBe(0);
    expect((await pg.pool.query('SELECT * FROM telemetry_daily WHERE date = $1', [gone])).rows).toEqual(kept);

    const stats2 = await ops(['stats']);
    expect(stats2.out).toMatch(/last rollup: ok at /);
    expect(stats2.out).toMatch(/last prune: ok at /);
    expect(stats2.out).toContain('waiting for rollup: 0 rows');
    expect(stats2.out).toContain('telemetry_daily: 200 rows');
    // A telemetry.db left from before the move is named as not in use, and left alone.
    mkdirSync(`${dir.path}/data`, { recursive: true });
    writeFileSync(`${dir.path}/data/telemetry.db`, '');
    const stats3 = await ops(['stats']);
    expect(stats3.code).toBe(0);
    expect(stats3.out).toMatch(/^telemetry\.db +\S+: not in use \(TELEMETRY_DATABASE_URL is set\)$/m);
    expect(stats3.out).toContain('telemetry on PostgreSQL');
  });

  it('wait for a lease another process holds, and fail clearly (exit 1) when it stays held', async () => {
    const other: PgOperatorSession = await openPgOperatorSession(pg.url, { applicationName: 'mosis-test-holder' });
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let held!: () => void;
    const holding = new Promise<void>((r) => (held = r));
    const lease = other.maintenance.withLease('maintenance', async () => {
      held();
      await released;
    });
    try {
      await holding;
      const runsBefore = (await pg.pool.query('SELECT * FROM job_runs ORDER BY job')).rows;
      for (const argv of [['rollup'], ['prune']]) {
        const busy = await ops(argv, { OPS_LEASE_WAIT_MS: '300' });
        expect(busy.code).toBe(1);
        expect(busy.err).toMatch(new RegExp(`^ops ${argv[0]}: maintenance is running in another process \\(.+:${process.pid}:[0-9a-f]+\\)$`));
        expect(busy.out).toBe('');
      }
      // A run that never started is not recorded.
      expect((await pg.pool.query('SELECT * FROM job_runs ORDER BY job')).rows).toEqual(runsBefore);

      // Within the wait (default LEASE_WAIT_MS): released once ops has tried and is waiting, it runs.
      const waiting = ops(['rollup']);
      for (;;) {
        const tried = await pg.pool.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = 'mosis-ops' AND state = 'idle' AND query LIKE 'SELECT pg_try_advisory_lock%'",
        );
        if (tried.rows.length) break;
        await delay(20);
      }
      release();
      const ran = await waiting;
      expect(ran.err).toBe('');
      expect(ran.code).toBe(0);
      expect(ran.out).toMatch(/raw rows folded in +0/);
    } finally {
      release();
      await lease;
      await other.close();
    }
  });

  it('reject a half or inverted range before connecting', async () => {
    const today = new Date().toISOString().slice(0, 10);
    expect((await ops(['rollup', '--from', today])).code).toBe(2);
    expect((await ops(['rollup', '--from', today, '--to', '2026-01-01'], { TELEMETRY_DATABASE_URL: 'postgres://u@127.0.0.1:1/x' })).code).toBe(2);
  });

  it('a bad TELEMETRY_DATABASE_URL: one clear line naming it (password hidden), no stack, non-zero exit', async () => {
    const noSchema = await createTestPgDatabase();
    const closed = await freePort();
    const missing = new URL(pg.url);
    missing.pathname = '/mosis_no_such_database';
    try {
      const cases: { url: string; code: number; err: RegExp }[] = [
        { url: 'mysql://u:secret@db/x', code: 2, err: /TELEMETRY_DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/ },
        { url: `postgres://u:secret@127.0.0.1:${closed}/x`, code: 1, err: new RegExp(`telemetry on PostgreSQL \\(postgres://u:\\*\\*\\*@127\\.0\\.0\\.1:${closed}/x\\): .*ECONNREFUSED`) },
        { url: missing.toString(), code: 1, err: /database "mosis_no_such_database" does not exist/ },
        { url: noSchema.url, code: 1, err: /lacks the telemetry schema: start ingest with TELEMETRY_DATABASE_URL once/ },
      ];
      for (const c of cases) {
        for (const argv of [['rollup'], ['prune', '--dry-run'], ['stats']]) {
          const res = await ops(argv, { TELEMETRY_DATABASE_URL: c.url });
          expect({ argv, code: res.code }).toEqual({ argv, code: c.code });
          expect(res.err).toMatch(c.err);
          expect(res.err).not.toMatch(/^\s+at /m);
          expect(res.err).not.toContain('secret');
        }
      }
    } finally {
      await noSchema.drop();
    }
  });
});
