import { afterAll, describe, expect, it } from 'vitest';
import { DATABASES, type DatabaseName } from './databases.js';
import { openDatabase, type DB } from './db.js';
import { migrateDown, migrateUp, migrationStatus, pendingMigrations, readMigrations } from './migrate.js';
import { tempDir } from './testing.js';

const dir = tempDir();
afterAll(() => dir.cleanup());

/** Every schema object but the migration bookkeeping and sqlite_sequence (SQLite keeps it once made). */
function schema(db: DB) {
  return db
    .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name NOT IN ('schema_migrations', 'sqlite_sequence') ORDER BY type, name")
    .all();
}

describe.each(['portal', 'telemetry'] as DatabaseName[])('%s migrations', (name) => {
  const opts = DATABASES[name].migrations;

  it('every migration has an up and a down file, in numeric order', () => {
    const migrations = readMigrations(opts.dir);
    expect(migrations.length).toBeGreaterThan(0);
    const numbers = migrations.map((m) => Number(m.name.split('_')[0]));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    for (const m of migrations) expect(m.down.trim()).not.toBe('');
  });

  it('up from empty, down to zero and up again leaves the same schema', async () => {
    const db = openDatabase(`${dir.path}/${name}.db`);
    const applied = await migrateUp(db, opts);
    expect(applied).toEqual(readMigrations(opts.dir).map((m) => m.name));
    const first = schema(db);
    expect(first.length).toBeGreaterThan(3);

    if (name === 'telemetry') {
      // A month partition created at run time must go with the down migration too.
      db.exec("CREATE TABLE telemetry_events_2026_11 (id INTEGER PRIMARY KEY); INSERT INTO telemetry_partitions (name, kind, month) VALUES ('telemetry_events_2026_11', 'events', '2026-11')");
    }

    const reverted = await migrateDown(db, opts, 0);
    expect(reverted).toEqual([...applied].reverse());
    expect(schema(db)).toEqual([]);
    expect(await migrationStatus(db, opts)).toEqual({ executed: [], pending: applied });
    expect(pendingMigrations(db, opts)).toEqual(applied);

    await migrateUp(db, opts);
    expect(schema(db)).toEqual(first);
    expect((await migrationStatus(db, opts)).pending).toEqual([]);
    // What a service asks at start before it loads umzug: nothing, and migrateUp then applies nothing.
    expect(pendingMigrations(db, opts)).toEqual([]);
    expect(await migrateUp(db, opts)).toEqual([]);
    db.close();
  });

  it('runs a migration\'s hooks around its SQL, in its transaction', async () => {
    const hooked = tempDir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${hooked.path}/0001_t.up.sql`, 'CREATE TABLE t (x); INSERT INTO t VALUES (2);');
    writeFileSync(`${hooked.path}/0001_t.down.sql`, 'DROP TABLE t;');
    const db = openDatabase(`${hooked.path}/x.db`);
    const seen: unknown[] = [];
    const hooks = {
      dir: hooked.path,
      beforeUp: { '0001_t': (d: DB) => seen.push(['before', d.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 't'").get()]) },
      afterUp: { '0001_t': (d: DB) => seen.push(['after', d.prepare('SELECT x FROM t').all(), d.inTransaction]) },
    };
    await migrateUp(db, hooks);
    expect(seen).toEqual([['before', { n: 0 }], ['after', [{ x: 2 }], true]]);
    // A failing hook undoes the migration's SQL and record.
    await migrateDown(db, hooks, 0);
    await expect(migrateUp(db, { ...hooks, afterUp: { '0001_t': () => { throw new Error('no'); } } })).rejects.toThrow('no');
    expect(await migrationStatus(db, hooks)).toEqual({ executed: [], pending: ['0001_t'] });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 't'").get()).toBeUndefined();
    db.close();
    hooked.cleanup();
  });

  it('a failing migration leaves neither its tables nor its record', async () => {
    const broken = tempDir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${broken.path}/0001_ok.up.sql`, 'CREATE TABLE a (x);');
    writeFileSync(`${broken.path}/0001_ok.down.sql`, 'DROP TABLE a;');
    writeFileSync(`${broken.path}/0002_bad.up.sql`, 'CREATE TABLE b (x); CREATE TABLE oops syntax error;');
    writeFileSync(`${broken.path}/0002_bad.down.sql`, 'DROP TABLE b;');
    const db = openDatabase(`${broken.path}/x.db`);
    await expect(migrateUp(db, { dir: broken.path })).rejects.toThrow();
    expect(await migrationStatus(db, { dir: broken.path })).toEqual({ executed: ['0001_ok'], pending: ['0002_bad'] });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").get()).toBeUndefined();
    db.close();
    broken.cleanup();
  });
});
