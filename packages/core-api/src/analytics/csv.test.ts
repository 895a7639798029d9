import { describe, expect, it } from 'vitest';
import { toCsv } from './csv.js';

describe('toCsv (RFC 4180)', () => {
  it('writes a header row and one CRLF-ended row per item, quoting only fields that need it', () => {
    const rows = [
      { a: 'plain', b: 1 },
      { a: 'a,b', b: null },
      { a: 'say "hi"', b: 2.5 },
      { a: 'two\nlines', b: 0 },
      { a: 'cr\r', b: -1 },
    ];
    expect(toCsv(['a', 'b'], rows)).toBe('a,b\r\nplain,1\r\n"a,b",\r\n"say ""hi""",2.5\r\n"two\nlines",0\r\n"cr\r",-1\r\n');
  });

  it('writes only the header for no rows', () => {
    expect(toCsv(['period_start', 'devices'], [])).toBe('period_start,devices\r\n');
  });
});
