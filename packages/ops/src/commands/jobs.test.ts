import { ensurePartition } from '@mosis/ingest';
import { DATABASES, migrateUp, openDatabase, tempDir, type DB } from '@mosis/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOps } from '../testing.js';

const dir = tempDir();
afterAll(() => dir.cleanup());

const ops = (...argv: string[]) => runOps(argv);

const DAY = 86_400_000;
let db: DB;

/** Raw events as the ingest writer stores them. */
function insertEvents(rows: { ts: number; device: number }[]): void {
  db.transaction(() => {
    db.prepare("INSERT OR IGNORE INTO dim_apps (id, app_id, package_id) VALUES (1, 'app-1', 'com.dev.one')").run();
    db.prepare("INSERT OR IGNORE INTO dim_event_types (id, name) VALUES (1, 'app_open')").run();
    for (const r of rows) {
      const month = new Date(r.ts).toISOString().slice(0, 7);
      const part = ensurePartition(db, 'events', month);
      db.prepare(`INSERT INTO ${part} (app_id, device_id, event_type, timestamp) VALUES (1, ?, 1, ?)`).run(r.device, r.ts);
    }
  }).immediate();
}

describe('ops rollup, prune, stats', () => {
  beforeAll(async () => {
    process.env.DATA_DIR = `${dir.path}/data`;
  });

  it('fail clearly before telemetry.db exists', async () => {
    const res = await ops('rollup');
    expect(res.code).toBe(1);
    expect(res.err).toContain('does not exist yet');
    expect((await ops('stats')).out).toContain('telemetry.db: not created yet');
  });

  it('roll up what is waiting, rebuild a range, prune with and without --dry-run, and report stats', async () => {
    db = openDatabase(`${dir.path}/data/telemetry.db`);
    await migrateUp(db, DATABASES.telemetry.migrations);
    const now = Date.now();
    // 200 days of history (one event a day), today twice.
    insertEvents(Array.from({ length: 200 }, (_, i) => ({ ts: now - i * DAY, device: i % 3 })));
    insertEvents([{ ts: now, device: 42 }]);

    const stats1 = await ops('stats');
    expect(stats1.code).toBe(0);
    expect(stats1.out).toContain('waiting for rollup: 201 rows');
    expect(stats1.out).toMatch(/telemetry_events_\d{4}_\d{2} +folded up to id 0 of \d+/);
    expect(stats1.out).toContain('last rollup: never');
    expect(stats1.out).toMatch(/telemetry_events_\d{4}_\d{2} +\d+ rows/);

    const rolled = await ops('rollup');
    expect(rolled.code).toBe(0);
    expect(rolled.out).toMatch(/raw rows folded in +201/);
    expect(rolled.out).toMatch(/days closed \(sketched\) +198/);
    const today = new Date(now).toISOString().slice(0, 10);
    expect(db.prepare('SELECT count, unique_devices FROM telemetry_daily WHERE date = ?').get(today)).toEqual({ count: 2, unique_devices: 2 });

    db.prepare('UPDATE telemetry_daily SET count = 1000 WHERE date = ?').run(today);
    const rebuilt = await ops('rollup', '--from', today, '--to', today);
    expect(rebuilt.out).toContain(`rebuilt ${today} .. ${today}`);
    expect(rebuilt.out).toMatch(/raw rows read +2$/m);
    expect(db.prepare('SELECT count FROM telemetry_daily WHERE date = ?').get(today)).toEqual({ count: 2 });

    const dry = await ops('prune', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/dry run: retention 90 days/);
    expect(dry.out).toMatch(/would drop +telemetry_events_/);
    const before = (db.prepare('SELECT count(*) AS n FROM telemetry_events').get() as { n: number }).n;
    expect(before).toBe(201);

    const pruned = await ops('prune');
    expect(pruned.code).toBe(0);
    expect(pruned.out).toMatch(/drop +telemetry_events_/);
    const after = (db.prepare('SELECT count(*) AS n FROM telemetry_events').get() as { n: number }).n;
    expect(after).toBeGreaterThanOrEqual(91);
    expect(after).toBeLessThanOrEqual(92);
    expect((db.prepare('SELECT count(*) AS n FROM telemetry_daily').get() as { n: number }).n).toBe(200);

    const stats2 = await ops('stats');
    expect(stats2.out).toMatch(/last rollup: ok at /);
    expect(stats2.out).toMatch(/last prune: ok at /);
    expect(stats2.out).toContain('waiting for rollup: 0 rows');
    expect(stats2.out).not.toContain('folded up to id');
    db.close();
  });

  it('reject a half or inverted range', async () => {
    expect((await ops('rollup', '--from', '2026-01-02')).code).toBe(2);
    expect((await ops('rollup', '--from', '2026-01-02', '--to', '2026-01-01')).code).toBe(2);
    expect((await ops('rollup', '--from', '2026-02-30', '--to', '2026-03-01')).code).toBe(2);
  });
});
