import { DATABASES, migrateUp, openDatabase, tempDir, type DB } from '@mosis/shared';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runOps } from '../testing.js';

const dir = tempDir();
let db: DB;

const ops = (...argv: string[]) => runOps(argv);

const version = (code: number) =>
  db.prepare('SELECT status, review_notes, published_at FROM app_versions WHERE app_id = ? AND version_code = ?').get('app-1', code) as {
    status: string;
    review_notes: string | null;
    published_at: string | null;
  };

beforeAll(async () => {
  db = openDatabase(`${dir.path}/portal.db`);
  await migrateUp(db, DATABASES.portal.migrations);
  db.exec(`INSERT INTO developers (id, email, name) VALUES ('dev-1', 'd@example.com', 'Dev');
    INSERT INTO apps (id, developer_id, package_id, name) VALUES ('app-1', 'dev-1', 'com.ops.app', 'Ops App');
    INSERT INTO app_versions (id, app_id, version_code, version_name, package_url, package_size, signature, status, package_sha256)
    VALUES ('v1', 'app-1', 1, '1.0', 'https://x.example/1', 1, 'AA==', 'review', '${'1'.repeat(64)}'),
           ('v2', 'app-1', 2, '2.0', 'https://x.example/2', 1, 'AA==', 'review', '${'2'.repeat(64)}'),
           ('v3', 'app-1', 3, '3.0', 'https://x.example/3', 1, 'AA==', 'review', NULL);`);
});
beforeEach(() => {
  process.env.DATA_DIR = dir.path;
});
afterAll(() => {
  db.close();
  dir.cleanup();
});

describe('ops review', () => {
  it('lists versions in review', async () => {
    const res = await ops('review', 'list');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/com\.ops\.app {2}1 {2}1\.0 {2}review/);
    expect(res.out).toMatch(/com\.ops\.app {2}2 /);
  });

  it('approves and publishes by package_id; publishing stamps published_at and publishes the app', async () => {
    expect((await ops('review', 'publish', 'com.ops.app', '1')).code).toBe(1); // not approved yet
    expect((await ops('review', 'approve', 'com.ops.app', '1')).code).toBe(0);
    const res = await ops('review', 'publish', 'com.ops.app', '1');
    expect(res.code).toBe(0);
    expect(res.out).toContain('published');
    expect(version(1).status).toBe('published');
    expect(version(1).published_at).toBeTruthy();
    expect(db.prepare("SELECT status FROM apps WHERE id = 'app-1'").get()).toEqual({ status: 'published' });
  });

  it('refuses to approve a version without a verified package (one submitted before uploads existed)', async () => {
    const res = await ops('review', 'approve', 'com.ops.app', '3');
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/upload the package first/);
    expect(version(3).status).toBe('review');
    db.prepare("DELETE FROM app_versions WHERE id = 'v3'").run();
  });

  it('rejects only with notes', async () => {
    const missing = await ops('review', 'reject', 'com.ops.app', '2');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/notes/);
    expect((await ops('review', 'reject', 'com.ops.app', '2', '--notes', 'icon missing')).code).toBe(0);
    expect(version(2)).toMatchObject({ status: 'rejected', review_notes: 'icon missing' });
    expect((await ops('review', 'list')).out).toContain('no versions in review');
    expect((await ops('review', 'list', '--status', 'rejected')).out).toContain('com.ops.app  2');
  });

  it('suspends and reinstates an app', async () => {
    expect((await ops('review', 'suspend', 'com.ops.app', '--notes', 'abuse')).out).toBe('com.ops.app: suspended');
    expect((await ops('review', 'reinstate', 'app-1')).out).toBe('com.ops.app: published');
  });

  it("writes each decision to the developer's audit log, marked as from ops", () => {
    const rows = db.prepare("SELECT action, details, user_agent FROM audit_logs WHERE developer_id = 'dev-1' ORDER BY id").all() as { action: string; details: string; user_agent: string }[];
    expect(rows.map((r) => r.action)).toEqual(['version.approved', 'version.published', 'version.rejected', 'app.suspended', 'app.reinstated']);
    expect(JSON.parse(rows[2]!.details)).toMatchObject({ by: 'ops', notes: 'icon missing' });
    expect(rows[0]!.user_agent).toBe('mosis-ops');
  });

  it.each([
    [['review'], 2],
    [['review', 'bless', 'com.ops.app', '1'], 2],
    [['review', 'approve'], 2],
    [['review', 'approve', 'com.ops.app', 'x'], 2],
    [['review', 'list', '--status', 'weird'], 2],
    [['review', 'approve', 'com.none.app', '1'], 1],
    [['review', 'approve', 'com.ops.app', '7'], 1],
  ])('%j exits %i with a message', async (argv, code) => {
    const res = await ops(...argv);
    expect(res.code).toBe(code);
    expect(res.err).not.toBe('');
  });

  it('says so when portal.db does not exist', async () => {
    process.env.DATA_DIR = `${dir.path}/empty`;
    const res = await ops('review', 'list');
    expect(res.code).toBe(1);
    expect(res.err).toContain('does not exist');
  });
});
