import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, isWritable } from './db.js';
import { tempDir } from './testing.js';

describe('openDatabase', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it('sets the pragmas the workload needs', () => {
    const db = openDatabase(`${dir.path}/a/x.db`);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2); // INCREMENTAL
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    expect(isWritable(db)).toBe(true);
    db.close();
  });

  it('leaves checkpoints to Litestream when it replicates the file', () => {
    const db = openDatabase(`${dir.path}/ls.db`, { litestream: true });
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    db.close();
  });

  it('opens read-only without creating the file', () => {
    expect(() => openDatabase(`${dir.path}/missing.db`, { readonly: true })).toThrow();
    const rw = openDatabase(`${dir.path}/ro.db`);
    rw.exec('CREATE TABLE t (x)');
    const ro = openDatabase(`${dir.path}/ro.db`, { readonly: true });
    expect(isWritable(ro)).toBe(false);
    expect(() => ro.exec('INSERT INTO t VALUES (1)')).toThrow(/readonly/);
    ro.close();
    rw.close();
  });
});
