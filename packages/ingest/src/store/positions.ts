import { MAX_POSITION_PARTITIONS } from '../limits.js';
import { InvalidPositionError } from './reads.js';

/**
 * The opaque strings the SQLite reads give out: base64url of a small JSON value. Whatever a client sends
 * back is checked here, shape and bounds, before any of it reaches SQL: anything else is an
 * InvalidPositionError (a 400), never a 500 and never a query over another app (every query names its app).
 */

/** Latest instant a JavaScript Date can hold (ms). */
const MAX_DATE_MS = 8.64e15;
/** Longest string accepted: a head of MAX_POSITION_PARTITIONS months is about 4,000 characters. */
const MAX_POSITION_CHARS = 8_192;
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** Where a newest-first page ended: the last row's timestamp (ms) and its id within its month's partition. */
export interface RowPosition {
  timestamp: number;
  id: number;
}

/** Per event partition (month `YYYY-MM`), the highest row id already handed out. */
export type PartitionPositions = Map<string, number>;

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function decode(what: 'cursor' | 'head', text: string): unknown {
  if (text.length === 0 || text.length > MAX_POSITION_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) throw new InvalidPositionError(what);
  try {
    return JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch (err) {
    throw new InvalidPositionError(what, { cause: err });
  }
}

const isId = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min;

/** `[timestamp, id]`, the same shape the core API's crash cursors always had (old cursors stay valid). */
export function encodeRowCursor(p: RowPosition): string {
  return encode([p.timestamp, p.id]);
}

export function decodeRowCursor(text: string): RowPosition {
  const v = decode('cursor', text);
  if (!Array.isArray(v) || v.length !== 2) throw new InvalidPositionError('cursor');
  const [timestamp, id] = v as unknown[];
  if (!isId(timestamp, 0) || timestamp > MAX_DATE_MS || !isId(id, 1)) throw new InvalidPositionError('cursor');
  return { timestamp, id };
}

/** `{"YYYY-MM": id, ...}`, months in order. */
export function encodeHead(p: PartitionPositions): string {
  return encode(Object.fromEntries([...p].sort(([a], [b]) => a.localeCompare(b))));
}

export function decodeHead(text: string): PartitionPositions {
  const v = decode('head', text);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidPositionError('head');
  const entries = Object.entries(v);
  if (entries.length > MAX_POSITION_PARTITIONS) throw new InvalidPositionError('head');
  const out: PartitionPositions = new Map();
  for (const [month, id] of entries) {
    if (!MONTH.test(month) || !isId(id, 0)) throw new InvalidPositionError('head');
    out.set(month, id);
  }
  return out;
}
