import { copyFromSqlite, ensurePartition, migratePgUp, openPgPool, openPgTelemetryReads, openSqliteTelemetryReads } from '@mosis/ingest';
import { createTestPgDatabase, describePg } from '@mosis/ingest/testing-pg';
import { DATABASES, migrateUp, openDatabase, tempDir, type DB } from '@mosis/shared';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runOps } from '../testing.js';

/**
 * `ops telemetry-migrate --to postgres://...`: telemetry.db's raw rows within the retention and every
 * aggregate land in PostgreSQL, verified per table and day; a run cut short resumes and a second run
 * copies nothing twice; a difference is exit 1 with the day named; the reads then answer the same there.
 */

const DAY = 86_400_000;
const dir = tempDir();
let db: DB;
let pg: Awaited<ReturnType<typeof createTestPgDatabase>>;
const ops = (...argv: string[]) => runOps(argv);

/** Events as the ingest writer stores them: `days` days back, `n` per day, devices cycling; one crash a day. */
function insert(days: number[], n: number): void {
  db.transaction(() => {
    db.prepare("INSERT OR IGNORE INTO dim_apps (id, app_id, package_id) VALUES (1, 'app-1', 'com.dev.one')").run();
    db.prepare("INSERT OR IGNORE INTO dim_event_types (id, name) VALUES (1, 'app_open'), (2, 'click')").run();
    const now = Date.now();
    for (const d of days) {
      const ts = now - d * DAY;
      const month = new Date(ts).toISOString().slice(0, 7);
      const events = ensurePartition(db, 'events', month);
      for (let i = 0; i < n; i++) {
        db.prepare(`INSERT INTO ${events} (app_id, device_id, event_type, timestamp, event_id, event_data, received_at) VALUES (1, ?, ?, ?, ?, ?, ?)`).run(
          i % 7,
          1 + (i % 2),
          ts + i,
          randomBytes(16),
          JSON.stringify({ i }),
          ts + i,
        );
      }
      const crashes = ensurePartition(db, 'crashes', month);
      db.prepare(`INSERT INTO ${crashes} (app_id, device_id, timestamp, fingerprint, crash_type, app_version, created_at) VALUES (1, 3, ?, 'fp', 'anr', '1.0', ?)`).run(ts, ts);
    }
  }).immediate();
}

describePg('ops telemetry-migrate', () => {
  beforeAll(async () => {
    process.env.DATA_DIR = `${dir.path}/data`;
    db = openDatabase(`${dir.path}/data/telemetry.db`);
    await migrateUp(db, DATABASES.telemetry.migrations);
    // 100 days back (before the 90-day retention: not copied) up to today, 30 events a day.
    insert(Array.from({ length: 101 }, (_, i) => 100 - i), 30);
    pg = await createTestPgDatabase();
  });
  afterAll(async () => {
    db?.close();
    await pg?.drop();
    dir.cleanup();
  });

  it('refuses a --to that is not a postgres:// URL', async () => {
    expect((await ops('telemetry-migrate')).code).toBe(2);
    expect((await ops('telemetry-migrate', '--to', 'mysql://db/x')).code).toBe(2);
  });

  it('resumes a copy cut short, copies the rest once, and verifies every table per day', async () => {
    // A first run stopped after two batches (committed with their progress).
    const pool = openPgPool(pg.url);
    await migratePgUp(pool);
    const stop = new AbortController();
    let batches = 0;
    await expect(
      copyFromSqlite(db, pool, { retentionDays: 90, batchRows: 50, allowUnfolded: true, signal: stop.signal, onBatch: () => ++batches === 2 && stop.abort() }),
    ).rejects.toThrow();
    const partial = Number((await pool.query('SELECT count(*) AS n FROM telemetry_events')).rows[0].n);
    expect(partial).toBeLessThan(91 * 30);

    const res = await ops('telemetry-migrate', '--to', pg.url);
    expect(res.err).toBe('');
    expect(res.code).toBe(0);
    expect(res.out).toContain('every table matches');
    expect(res.out).toMatch(/telemetry_events +\d+ +(\d+) +\1 +ok/);
    // 91 days kept (today and 90 before it), 30 events each; the 100th day back is not copied.
    const kept = Number((await pool.query('SELECT count(*) AS n FROM telemetry_events')).rows[0].n);
    expect(kept).toBe(91 * 30);
    expect(Number((await pool.query("SELECT count(*) AS n FROM (SELECT DISTINCT event_id FROM telemetry_events) d")).rows[0].n)).toBe(kept);
    // Everything copied was folded: PostgreSQL's rollup starts after it.
    expect((await pool.query("SELECT last_id FROM rollup_positions WHERE kind = 'events'")).rows[0].last_id).toBe(BigInt((await pool.query('SELECT max(id) AS m FROM telemetry_events')).rows[0].m));

    // Again: nothing copied twice. New rows since: only those.
    expect((await ops('telemetry-migrate', '--to', pg.url)).out).toMatch(/copied telemetry_events_\d{4}_\d{2} +0 rows/);
    insert([0], 5);
    const again = await ops('telemetry-migrate', '--to', pg.url);
    expect(again.code).toBe(0);
    expect(Number((await pool.query('SELECT count(*) AS n FROM telemetry_events')).rows[0].n)).toBe(kept + 5);

    // The reads answer the same on both.
    const today = new Date().toISOString().slice(0, 10);
    const range = { appId: 'app-1', from: new Date(Date.now() - 30 * DAY).toISOString().slice(0, 10), to: today };
    const sqliteReads = openSqliteTelemetryReads({ path: db.name, retentionDays: 90 });
    const pgReads = openPgTelemetryReads({ url: pg.url, retentionDays: 90 });
    try {
      for (const read of [
        (r: typeof sqliteReads | typeof pgReads) => r.dailyCounts(range),
        (r: typeof sqliteReads | typeof pgReads) => r.summary({ ...range, topEventTypes: 5 }),
        (r: typeof sqliteReads | typeof pgReads) => r.activeDevices({ ...range, interval: 'week' }),
        (r: typeof sqliteReads | typeof pgReads) => r.crashGroups({ ...range, limit: 5 }),
      ]) {
        expect(await read(pgReads)).toEqual(await read(sqliteReads));
      }
    } finally {
      await sqliteReads.close();
      await pgReads.close();
      await pool.end();
    }
  });

  it('exits 1 naming the day when PostgreSQL lacks rows the progress says were copied', async () => {
    const pool = openPgPool(pg.url);
    try {
      const day = (await pool.query('DELETE FROM telemetry_events WHERE id = (SELECT min(id) FROM telemetry_events) RETURNING day')).rows[0].day as number;
      const res = await ops('telemetry-migrate', '--to', pg.url);
      expect(res.code).toBe(1);
      const iso = new Date(day * DAY).toISOString().slice(0, 10);
      expect(res.out).toContain(`telemetry_events`);
      expect(res.out).toMatch(new RegExp(`${iso}: telemetry\\.db 30, postgres 29`));
      expect(res.err).toContain('differ');
    } finally {
      await pool.end();
    }
  });
});
