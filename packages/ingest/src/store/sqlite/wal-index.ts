import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';

/**
 * How much of a database's WAL is in use, read from its WAL-index (`<db>-shm`) without a query and
 * without checkpointing (under Litestream, only Litestream checkpoints). The layout is SQLite's
 * documented, stable file format (https://www.sqlite.org/walformat.html, "The WAL-Index Header"): two
 * copies of a 48-byte header, then the checkpoint info; integers in the machine's byte order.
 */
export interface WalIndex {
  /** Frames in the WAL since it last restarted (mxFrame). */
  frames: number;
  /** Of those, frames already copied into the database file by a checkpoint (nBackfill). */
  backfilled: number;
  /** Bytes the frames take in the WAL file. */
  bytes: number;
}

const HEADER_BYTES = 48;
/** Both header copies and nBackfill, the first field after them. */
const READ_BYTES = 2 * HEADER_BYTES + 4;
const WAL_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;

/** Reads one database's WAL-index; keeps its `-shm` file open between reads. */
export class WalIndexReader {
  private fd: number | undefined;
  private readonly buf = Buffer.alloc(READ_BYTES);
  private readonly le = endianness() === 'LE';

  constructor(private readonly dbPath: string) {}

  /** The WAL's use now, or undefined when there is no WAL-index to read (yet) or it is mid-update. */
  read(): WalIndex | undefined {
    try {
      this.fd ??= openSync(`${this.dbPath}-shm`, 'r');
      if (readSync(this.fd, this.buf, 0, READ_BYTES, 0) < READ_BYTES) return undefined;
    } catch {
      return undefined;
    }
    const b = this.buf;
    // A writer updates the second copy, then the first: unequal copies are a header being written.
    const isInit = b[12] === 1;
    if (!isInit || !b.subarray(0, HEADER_BYTES).equals(b.subarray(HEADER_BYTES, 2 * HEADER_BYTES))) return undefined;
    const u16 = (o: number) => (this.le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (o: number) => (this.le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const pageSize = u16(14) === 1 ? 65_536 : u16(14);
    const frames = u32(16);
    return { frames, backfilled: u32(2 * HEADER_BYTES), bytes: frames === 0 ? 0 : WAL_HEADER_BYTES + frames * (FRAME_HEADER_BYTES + pageSize) };
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * Under Litestream, only Litestream checkpoints, after it has copied the WAL to its replica; a writer
 * faster than that copy grows the WAL without bound (and the replica falls behind what was acknowledged).
 * This says when the writer should hold its next commit: the WAL holds more than `maxBytes` and Litestream
 * has not yet checkpointed all of it. Once it has (its RESTART checkpoint), the next commit starts the
 * WAL over from its beginning.
 */
export function replicationBackpressure(reader: WalIndexReader, maxBytes: number): () => boolean {
  return () => {
    const wal = reader.read();
    return wal !== undefined && wal.bytes > maxBytes && wal.backfilled < wal.frames;
  };
}
