import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ftsMatchExpression } from './fts-query.js';

// The same tokenizer settings as migrations/portal/0002_catalog_search.up.sql.
const db = new Database(':memory:');
db.exec(`CREATE VIRTUAL TABLE t USING fts5(name, description, tags, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4');
  INSERT INTO t VALUES ('Camera', 'Take photos', '["photo"]'), ('Café', 'coffee ☕', '[]');`);
const match = db.prepare('SELECT name FROM t WHERE t MATCH ? ORDER BY rank');
afterAll(() => db.close());

describe('ftsMatchExpression', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['   ', undefined],
    ['🎉 ---', null],
    ['cam', '"cam"*'],
    ['take pho', '"take" "pho"*'],
    ['say "hi"', '"say" "hi"*'],
    ['NEAR(a b)', '"NEAR" "a" "b"*'],
    ['name:x', '"name" "x"*'],
  ])('turns %j into %j', (q, want) => {
    expect(ftsMatchExpression(q)).toBe(want);
  });

  it('caps the number and length of terms', () => {
    const expr = ftsMatchExpression(`${'a'.repeat(500)} ${Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ')}`)!;
    expect(expr.match(/"/g)!.length / 2).toBe(16);
    expect(expr.startsWith(`"${'a'.repeat(64)}"`)).toBe(true);
  });

  it('finds by prefix and ignores diacritics', () => {
    expect(match.all(ftsMatchExpression('cam'))).toEqual([{ name: 'Camera' }]);
    expect(match.all(ftsMatchExpression('cafe'))).toEqual([{ name: 'Café' }]);
  });

  it('never produces an expression FTS5 rejects, whatever the text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), (q) => {
        const expr = ftsMatchExpression(q);
        if (typeof expr === 'string') match.all(expr);
      }),
      { numRuns: 2_000 },
    );
  });
});
