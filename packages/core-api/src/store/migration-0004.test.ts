import { createMigrator, DATABASES, openDatabase, tempDir, type DB } from '@mosis/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Migration 0004 on a portal.db that already holds data: every row kept, numbered in its old list order. */

const MIGRATION = '0004_seq_reservations_login_devices';
const dir = tempDir();
let db: DB;

const TABLES = ['api_keys', 'signing_keys', 'app_versions'] as const;
const PREFIX = { api_keys: 'k', signing_keys: 's', app_versions: 'v' } as const;
const rows = (table: string) => db.prepare(`SELECT * FROM ${table} ORDER BY id`).all() as Record<string, unknown>[];
const withoutSeq = (r: Record<string, unknown>) => {
  const { seq: _seq, ...rest } = r;
  return rest;
};
let before: Record<string, Record<string, unknown>[]>;

beforeAll(async () => {
  db = openDatabase(`${dir.path}/portal.db`);
  await (await createMigrator(db, DATABASES.portal.migrations)).up({ to: '0003_sessions' });
  db.exec(`
    INSERT INTO developers (id, email, name) VALUES ('dev', 'd@example.com', 'D');
    INSERT INTO apps (id, developer_id, package_id, name) VALUES ('app', 'dev', 'com.example.app', 'A');
  `);
  // Inserted out of order; two of each share a millisecond, so (created_at, id) decides between them.
  const at = ['2026-11-28T10:00:00.000Z', '2026-11-28T10:00:00.000Z', '2026-11-28T09:00:00.000Z'];
  const ids = ['b', 'a', 'c'];
  ids.forEach((id, i) => {
    db.prepare("INSERT INTO api_keys (id, developer_id, name, key_hash, key_prefix, created_at) VALUES (?, 'dev', ?, ?, 'mk_x', ?)").run(`k-${id}`, id, `hash-${id}`, at[i]);
    db.prepare("INSERT INTO signing_keys (id, developer_id, name, public_key, fingerprint, created_at) VALUES (?, 'dev', ?, 'pem', ?, ?)").run(`s-${id}`, id, `fp-${id}`, at[i]);
    db.prepare("INSERT INTO app_versions (id, app_id, version_code, version_name, package_url, package_size, signature, created_at) VALUES (?, 'app', ?, '1', 'https://x', 1, 'AA==', ?)").run(`v-${id}`, i + 1, at[i]);
  });
  before = Object.fromEntries(TABLES.map((t) => [t, rows(t)]));
  await (await createMigrator(db, DATABASES.portal.migrations)).up({ to: MIGRATION });
});
afterAll(() => {
  db.close();
  dir.cleanup();
});

describe(`migration ${MIGRATION}`, () => {
  it.each(TABLES)('keeps every %s row as it was and numbers them in (created_at, id) order', (table) => {
    expect(rows(table).map(withoutSeq)).toEqual(before[table]);
    const prefix = PREFIX[table];
    expect(db.prepare(`SELECT id FROM ${table} ORDER BY seq`).pluck().all()).toEqual([`${prefix}-c`, `${prefix}-a`, `${prefix}-b`]);
    expect(db.prepare(`SELECT seq FROM ${table} ORDER BY seq`).pluck().all()).toEqual([1, 2, 3]);
  });

  it('leaves the database consistent: no broken reference, indexes in place', () => {
    expect(db.pragma('foreign_key_check')).toEqual([]);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%' ORDER BY name").pluck().all();
    expect(indexes).toEqual(expect.arrayContaining(['idx_api_keys_hash', 'idx_api_keys_developer', 'idx_apps_developer', 'idx_signing_keys_developer', 'idx_versions_status']));
  });

  it('gives a new row a seq above every existing one, and a deleted app still takes its versions along', () => {
    db.prepare("INSERT INTO api_keys (id, developer_id, name, key_hash, key_prefix) VALUES ('k-new', 'dev', 'n', 'hash-new', 'mk_y')").run();
    expect(db.prepare("SELECT seq FROM api_keys WHERE id = 'k-new'").pluck().get()).toBe(4);
    db.prepare("DELETE FROM apps WHERE id = 'app'").run();
    expect(db.prepare('SELECT count(*) FROM app_versions').pluck().get()).toBe(0);
  });

  it('reverts: the rows stay, without seq', async () => {
    await (await createMigrator(db, DATABASES.portal.migrations)).down({ to: MIGRATION });
    expect(rows('signing_keys')).toEqual(before.signing_keys);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name IN ('package_reservations', 'login_devices')").all()).toEqual([]);
    expect(db.pragma('foreign_key_check')).toEqual([]);
  });
});
