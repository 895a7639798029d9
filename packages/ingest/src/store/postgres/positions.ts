import { InvalidPositionError } from '../reads.js';

/**
 * The tail head the PostgreSQL reads give out: base64url of `{"id": N}`, N a settled position of the one
 * telemetry_events sequence (settled.ts). It is not a SQLite head (those name months), so a head from the
 * other backend is refused as a 400, never misread. Page cursors are the same `[timestamp, id]` as SQLite's
 * (sqlite/positions.ts), ids being the sequence's.
 */

const MAX_HEAD_CHARS = 64;

export function encodePgHead(id: bigint): string {
  return Buffer.from(JSON.stringify({ id: Number(id) }), 'utf8').toString('base64url');
}

export function decodePgHead(text: string): bigint {
  if (text.length === 0 || text.length > MAX_HEAD_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) throw new InvalidPositionError('head');
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch (err) {
    throw new InvalidPositionError('head', { cause: err });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).length !== 1) throw new InvalidPositionError('head');
  const id = (v as { id?: unknown }).id;
  if (!Number.isSafeInteger(id) || (id as number) < 0) throw new InvalidPositionError('head');
  return BigInt(id as number);
}
