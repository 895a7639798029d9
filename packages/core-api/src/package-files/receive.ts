import { ApiError } from '@mosis/shared';
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { PACKAGE_WRITE_CHUNK_BYTES } from '../limits.js';

/** An upload written to a temp file: its bytes' SHA-256 (hex) and size. Not yet fsynced. */
export interface Received {
  tempPath: string;
  sha256: string;
  size: number;
}

export interface ReceiveOptions {
  tempPath: string;
  maxBytes: number;
  /** The request's Content-Length, when it sent one: fewer bytes than that is a cut upload. */
  declaredBytes?: number;
  /** Aborted when the client went away. */
  signal?: AbortSignal;
}

/** 413 for an upload over the limit; the connection is closed so the client stops sending. */
export function packageTooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'payload_too_large', `a package is at most ${maxBytes} bytes`, { max_bytes: maxBytes }, { Connection: 'close' });
}

function incomplete(why: string, cause?: unknown): ApiError {
  return new ApiError(400, 'upload_incomplete', `the upload did not complete: ${why}`, undefined, undefined, { cause });
}

/**
 * Streams a request body into a new file at `tempPath`, hashing it on the way, never holding more than
 * PACKAGE_WRITE_CHUNK_BYTES of it: the next chunk is read only once the previous ones are written
 * (backpressure reaches the socket). Stops with 413 as soon as the body passes `maxBytes`, and with 400
 * `upload_incomplete` when it ends early or the client goes away. On any failure the temp file is removed.
 */
export async function receiveToTemp(body: ReadableStream<Uint8Array> | null, opts: ReceiveOptions): Promise<Received> {
  const fh = await open(opts.tempPath, 'wx', 0o644);
  const hash = createHash('sha256');
  let size = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (!pendingBytes) return;
    const chunks = pending;
    pending = [];
    pendingBytes = 0;
    await fh.writev(chunks);
  };
  try {
    if (body) {
      const reader = body.getReader();
      try {
        for (;;) {
          let next;
          try {
            next = await reader.read();
          } catch (err) {
            throw incomplete('the connection was closed', err);
          }
          if (next.done) break;
          const chunk = next.value;
          size += chunk.byteLength;
          // Not cancelled on purpose: cancelling destroys the socket before the 413 is written.
          if (size > opts.maxBytes) throw packageTooLarge(opts.maxBytes);
          hash.update(chunk);
          pending.push(chunk);
          pendingBytes += chunk.byteLength;
          if (pendingBytes >= PACKAGE_WRITE_CHUNK_BYTES) await flush();
        }
      } finally {
        reader.releaseLock();
      }
    }
    await flush();
    if (opts.signal?.aborted) throw incomplete('the client went away');
    if (opts.declaredBytes !== undefined && size !== opts.declaredBytes) {
      throw incomplete(`received ${size} of the ${opts.declaredBytes} bytes of Content-Length`);
    }
    if (size === 0) throw ApiError.badRequest('the package is empty');
    await fh.close();
    return { tempPath: opts.tempPath, sha256: hash.digest('hex'), size };
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(opts.tempPath, { force: true });
    throw err;
  }
}
