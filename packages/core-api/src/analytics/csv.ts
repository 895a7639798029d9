import type { Context } from 'hono';

/**
 * `Accept: text/csv` on the series endpoints (daily, active-devices): the same rows as the JSON items, as
 * RFC 4180 CSV with a header row. Their values are dates, event types (`[A-Za-z0-9_.:-]`) and numbers, so no
 * cell can start a spreadsheet formula.
 */

export const CSV_TYPE = 'text/csv; charset=utf-8';

/** Media ranges of an Accept header with their q values (RFC 9110 §12.5.1). */
function accepted(header: string): Array<{ type: string; q: number }> {
  return header.split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const value = q ? Number(q.slice(2)) : 1;
    return { type, q: Number.isFinite(value) ? value : 0 };
  });
}

/** Whether the client prefers CSV: `text/csv` is acceptable and not less so than JSON (JSON wins ties). */
export function wantsCsv(c: Context): boolean {
  const header = c.req.header('accept');
  if (!header) return false;
  const ranges = accepted(header);
  const quality = (type: string) => {
    const exact = ranges.find((r) => r.type === type);
    if (exact) return exact.q;
    const group = ranges.find((r) => r.type === `${type.split('/')[0]}/*`);
    return group?.q ?? ranges.find((r) => r.type === '*/*')?.q ?? 0;
  };
  const csv = ranges.find((r) => r.type === 'text/csv')?.q ?? 0;
  return csv > 0 && csv > quality('application/json');
}

/** One field, quoted when it holds a comma, a quote or a line break (quotes doubled). */
function field(value: string | number | null): string {
  const s = value === null ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** CSV text: the header row, then one row per item, each line ended by CRLF. */
export function toCsv<K extends string>(columns: readonly K[], rows: Iterable<Record<K, string | number | null>>): string {
  const lines = [columns.map(field).join(',')];
  for (const row of rows) lines.push(columns.map((k) => field(row[k])).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** A CSV download named `filename` (letters, digits, `. _ -` only: it goes into a header unquoted-safe). */
export function csvResponse(c: Context, filename: string, body: string, headers: Record<string, string> = {}): Response {
  return c.body(body, 200, {
    'Content-Type': CSV_TYPE,
    'Content-Disposition': `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
    Vary: 'Accept',
    ...headers,
  });
}
