import { isReadable, openDatabase, releaseCacheMemory, type DB } from '@mosis/shared';
import { existsSync } from 'node:fs';
import { SplitTelemetryReads } from '../reads.js';
import { SqliteAggregateReads } from './aggregate-reads.js';
import { SqliteRawReads, type RawReadsOptions } from './raw-reads.js';

export interface SqliteTelemetryReadsOptions extends RawReadsOptions {
  /** telemetry.db. It may not exist yet (ingest not started): it is opened, read-only, on first use. */
  path: string;
}

/**
 * TelemetryReads over telemetry.db: the aggregates (SqliteAggregateReads) and the raw partitions
 * (SqliteRawReads) on one read-only connection, opened lazily. While the file does not exist every read
 * answers empty.
 */
export class SqliteTelemetryReads extends SplitTelemetryReads {
  private readonly file: ReadOnlyFile;

  constructor(opts: SqliteTelemetryReadsOptions) {
    const file = new ReadOnlyFile(opts.path);
    const db = () => file.connection();
    super(new SqliteAggregateReads(db), new SqliteRawReads(db, opts));
    this.file = file;
  }

  /** For /readyz: the file is readable, or not there yet (then analytics answer empty, which is not a failure). */
  ready(): boolean {
    const db = this.file.connection();
    return db === undefined || isReadable(db);
  }

  /** At rest: frees the connection's unused cache pages (releaseWhenIdle). */
  releaseMemory(): void {
    releaseCacheMemory(this.file.open);
  }

  async close(): Promise<void> {
    this.file.close();
  }
}

/** telemetry.db read-only, opened on first use once the file exists; closed for good by close(). */
class ReadOnlyFile {
  open: DB | undefined;
  private closed = false;

  constructor(private readonly path: string) {}

  connection(): DB | undefined {
    if (!this.open && !this.closed && existsSync(this.path)) this.open = openDatabase(this.path, { readonly: true });
    return this.open;
  }

  close(): void {
    this.closed = true;
    this.open?.close();
    this.open = undefined;
  }
}

/** The telemetry reads of a deployment on SQLite: `openSqliteTelemetryReads({ path, deviceSecret, retentionDays })`. */
export function openSqliteTelemetryReads(opts: SqliteTelemetryReadsOptions): SqliteTelemetryReads {
  return new SqliteTelemetryReads(opts);
}
