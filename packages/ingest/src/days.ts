/** UTC day arithmetic on `YYYY-MM-DD` strings, as the partitions and aggregates name days. */

/** One UTC day in milliseconds. */
export const DAY_MS = 86_400_000;

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** True for a real calendar day written `YYYY-MM-DD` (rejects 2026-02-30). */
export function isDay(s: string): boolean {
  if (!DAY_RE.test(s)) return false;
  const ms = Date.parse(`${s}T00:00:00.000Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === s;
}

/** Unix ms of a day's first millisecond (UTC). */
export function dayStartMs(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`);
}

/** The day `n` days after `day` (negative: before). */
export function addDays(day: string, n: number): string {
  return new Date(dayStartMs(day) + n * DAY_MS).toISOString().slice(0, 10);
}

/** The day of a day number (`timestamp / DAY_MS`, as the rollup's SQL groups by). */
export function dayOfNumber(dayNumber: number): string {
  return new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
}

/** The day number (`timestamp / DAY_MS`) of a day. */
export function dayNumberOf(day: string): number {
  return dayStartMs(day) / DAY_MS;
}

/** The Monday (ISO week start) of the week holding `day`. */
export function weekStart(day: string): string {
  const weekday = (new Date(dayStartMs(day)).getUTCDay() + 6) % 7;
  return addDays(day, -weekday);
}

/** Every day from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** Last day of the month `YYYY-MM`. */
export function lastDayOfMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}

/** Months `YYYY-MM` from the month of `from` to the month of `to`. */
export function monthsBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let m = from.slice(0, 7); m <= to.slice(0, 7); m = addDays(lastDayOfMonth(m), 1).slice(0, 7)) out.push(m);
  return out;
}

/** The first day of the period `day` falls in. */
export function periodStart(day: string, interval: 'day' | 'week' | 'month'): string {
  if (interval === 'day') return day;
  if (interval === 'week') return weekStart(day);
  return `${day.slice(0, 7)}-01`;
}

/** The periods overlapping from..to, oldest first, each named by its first day (only its days in range count). */
export function periodsOf(from: string, to: string, interval: 'day' | 'week' | 'month'): string[] {
  const out: string[] = [];
  for (const day of daysBetween(from, to)) {
    const p = periodStart(day, interval);
    if (out.at(-1) !== p) out.push(p);
  }
  return out;
}

/** `YYYY-MM` (UTC) of a Unix-ms timestamp. */
export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** `YYYY-MM-DD` (UTC) of a Unix-ms timestamp. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
