import { openDatabase, tempDir, type DB } from '@mosis/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInlineReader, createWorkerReader, type SnapshotReader } from './snapshot-reader.js';

// Both readers answer alike: the worker thread (the scheduled jobs') and the inline one (ops, tests).

const dir = tempDir('mosis-snapshot-reader-');
let db: DB;
beforeAll(() => {
  db = openDatabase(`${dir.path}/t.db`);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, device INTEGER NOT NULL)');
  // A device hash beyond 2^53: only BigInt holds it exactly.
  db.prepare('INSERT INTO t (id, device) VALUES (1, ?)').run(-6_917_529_027_641_081_857n);
});
afterAll(() => {
  db.close();
  dir.cleanup();
});

describe.each([
  ['worker thread', () => createWorkerReader(db.name)],
  ['inline', () => createInlineReader(db)],
] as [string, () => SnapshotReader][])('snapshot reader (%s)', (_, make) => {
  it('reads 64-bit device hashes exactly with safeIntegers, and answers null for a table that is gone', async () => {
    const reader = make();
    try {
      const [exact, missing, plain] = await reader.read([
        { sql: 'SELECT device FROM t', params: [], safeIntegers: true },
        { sql: 'SELECT count(*) AS n FROM t_gone', params: [], ifTable: 't_gone' },
        { sql: 'SELECT id FROM t WHERE id = ?', params: [1], ifTable: 't' },
      ]);
      expect(exact).toEqual([{ device: -6_917_529_027_641_081_857n }]);
      expect(missing).toBeNull();
      expect(plain).toEqual([{ id: 1 }]);
    } finally {
      await reader.close();
    }
  });

  it('fails a read with the database\'s message, and goes on reading after it', async () => {
    const reader = make();
    try {
      await expect(reader.read([{ sql: 'SELECT nope FROM t', params: [] }])).rejects.toThrow(/no such column: nope/);
      expect(await reader.read([{ sql: 'SELECT count(*) AS n FROM t', params: [] }])).toEqual([[{ n: 1 }]]);
    } finally {
      await reader.close();
    }
  });
});
