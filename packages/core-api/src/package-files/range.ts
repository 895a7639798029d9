/**
 * HTTP range and validator rules of package downloads (RFC 9110 §13 and §14), for one representation
 * whose strong ETag is known.
 */

/** What to send for a Range header: the whole file, one byte range (inclusive), or 416. */
export type RangeAnswer = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

const BYTES_UNIT = /^\s*bytes\s*=/i;
const FIRST_LAST = /^(\d+)-(\d*)$/;
const SUFFIX = /^-(\d+)$/;

/**
 * Reads a Range header against a file of `size` bytes (size > 0):
 * - absent, or another unit than bytes: the whole file (§14.2: a server ignores units it does not know);
 * - several ranges: the whole file too. §14.2 lets a server ignore Range; a resuming client asks for one,
 *   and serving many small overlapping ranges is an amplification nobody needs;
 * - one range: `a-b`, `a-` or `-n`, clipped to the file; 416 when it starts past the end, is `-0`, or is
 *   not a range at all (`bytes=x`, `bytes=5-2`).
 */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined || !BYTES_UNIT.test(header)) return { kind: 'full' };
  const specs = header.replace(BYTES_UNIT, '').split(',').map((s) => s.trim());
  if (specs.length !== 1) return { kind: 'full' };
  const spec = specs[0]!;
  const firstLast = FIRST_LAST.exec(spec);
  if (firstLast) {
    const start = Number(firstLast[1]);
    const last = firstLast[2] === '' ? Infinity : Number(firstLast[2]);
    if (last < start || !(start < size)) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start, end: Math.min(last, size - 1) };
  }
  const suffix = SUFFIX.exec(spec);
  if (suffix) {
    const length = Number(suffix[1]);
    if (length === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - length), end: size - 1 };
  }
  return { kind: 'unsatisfiable' };
}

/** If-None-Match against our ETag, by weak comparison (§13.1.2): true means 304. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const ours = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === ours);
}

/**
 * If-Range (§13.1.5): the range applies only if the validator is our strong ETag, exactly. A date or
 * another tag means the client holds other bytes: send the whole file.
 */
export function ifRangeHolds(header: string | undefined, etag: string): boolean {
  return header === undefined || header.trim() === etag;
}
