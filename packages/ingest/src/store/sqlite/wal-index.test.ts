import { openDatabase, tempDir, type DB } from '@mosis/shared';
import { statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { replicationBackpressure, WalIndexReader } from './wal-index.js';

const dirs: Array<{ cleanup: () => void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

/** A database as ingest opens it under Litestream: WAL, no autocheckpoint. */
function walDatabase(): { db: DB; path: string } {
  const dir = tempDir('mosis-walidx-');
  dirs.push(dir);
  const path = `${dir.path}/t.db`;
  const db = openDatabase(path, { litestream: true });
  db.exec('CREATE TABLE t (v BLOB)');
  return { db, path };
}

function writeKiB(db: DB, kib: number): void {
  const insert = db.prepare('INSERT INTO t (v) VALUES (randomblob(1024))');
  db.transaction(() => {
    for (let i = 0; i < kib; i++) insert.run();
  })();
}

type Checkpoint = { busy: number; log: number; checkpointed: number };
const checkpoint = (db: DB, mode: 'PASSIVE' | 'RESTART') => (db.pragma(`wal_checkpoint(${mode})`) as Checkpoint[])[0]!;

describe('WAL-index reader', () => {
  it('reads the frame count and backfill that SQLite itself reports, and the WAL file size', () => {
    const { db, path } = walDatabase();
    const reader = new WalIndexReader(path);
    try {
      writeKiB(db, 300);
      writeKiB(db, 200);
      const before = reader.read()!;
      expect(before.frames).toBeGreaterThan(100);
      expect(before.backfilled).toBe(0);
      expect(before.bytes).toBe(statSync(`${path}-wal`).size);

      const done = checkpoint(db, 'PASSIVE');
      expect(done.log).toBe(before.frames);
      expect(reader.read()).toMatchObject({ frames: before.frames, backfilled: done.checkpointed });
      expect(done.checkpointed).toBe(before.frames);
    } finally {
      reader.close();
      db.close();
    }
  });

  it('sees the WAL start over after a RESTART checkpoint and the next commit', () => {
    const { db, path } = walDatabase();
    const reader = new WalIndexReader(path);
    try {
      writeKiB(db, 500);
      const full = reader.read()!.frames;
      checkpoint(db, 'RESTART');
      writeKiB(db, 4);
      expect(reader.read()!.frames).toBeLessThan(full / 10);
    } finally {
      reader.close();
      db.close();
    }
  });

  it('reads nothing where there is no WAL-index', () => {
    const dir = tempDir('mosis-walidx-');
    dirs.push(dir);
    expect(new WalIndexReader(`${dir.path}/missing.db`).read()).toBeUndefined();
  });
});

describe('replication backpressure', () => {
  it('holds while the WAL is over its bound and not all checkpointed, and lets go once it is', () => {
    const { db, path } = walDatabase();
    const reader = new WalIndexReader(path);
    const hold = replicationBackpressure(reader, 1024 * 1024);
    try {
      writeKiB(db, 512);
      expect(hold()).toBe(false);
      writeKiB(db, 1024);
      expect(hold()).toBe(true);
      // What Litestream does after copying the WAL; the WAL starts over at the next commit.
      expect(checkpoint(db, 'RESTART').busy).toBe(0);
      expect(hold()).toBe(false);
      writeKiB(db, 1);
      expect(hold()).toBe(false);
      expect(reader.read()!.bytes).toBeLessThan(64 * 1024);
    } finally {
      reader.close();
      db.close();
    }
  });
});
