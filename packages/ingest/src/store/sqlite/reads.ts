import { isReadable, openDatabase, releaseCacheMemory, type DB } from '@mosis/shared';
import { existsSync } from 'node:fs';
import type { TelemetryReads } from '../reads.js';
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
export class SqliteTelemetryReads implements TelemetryReads {
  private conn: DB | undefined;
  private closed = false;
  private readonly aggregates: SqliteAggregateReads;
  private readonly raw: SqliteRawReads;

  constructor(private readonly opts: SqliteTelemetryReadsOptions) {
    const db = () => this.connection();
    this.aggregates = new SqliteAggregateReads(db);
    this.raw = new SqliteRawReads(db, opts);
  }

  private connection(): DB | undefined {
    if (!this.conn && !this.closed && existsSync(this.opts.path)) this.conn = openDatabase(this.opts.path, { readonly: true });
    return this.conn;
  }

  /** For /readyz: the file is readable, or not there yet (then analytics answer empty, which is not a failure). */
  ready(): boolean {
    const db = this.connection();
    return db === undefined || isReadable(db);
  }

  dailyCounts: TelemetryReads['dailyCounts'] = (q) => this.aggregates.dailyCounts(q);
  eventTypeCount: TelemetryReads['eventTypeCount'] = (q) => this.aggregates.eventTypeCount(q);
  activeDevices: TelemetryReads['activeDevices'] = (q) => this.aggregates.activeDevices(q);
  breakdown: TelemetryReads['breakdown'] = (q) => this.aggregates.breakdown(q);
  summary: TelemetryReads['summary'] = (q) => this.aggregates.summary(q);
  crashGroups: TelemetryReads['crashGroups'] = (q) => this.aggregates.crashGroups(q);
  events: TelemetryReads['events'] = (q) => this.raw.events(q);
  tail: TelemetryReads['tail'] = (q) => this.raw.tail(q);
  crashes: TelemetryReads['crashes'] = (q) => this.raw.crashes(q);

  /** At rest: frees the connection's unused cache pages (releaseWhenIdle). */
  releaseMemory(): void {
    releaseCacheMemory(this.conn);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.conn?.close();
    this.conn = undefined;
  }
}

/** The telemetry reads of a deployment on SQLite: `openSqliteTelemetryReads({ path, deviceSecret, retentionDays })`. */
export function openSqliteTelemetryReads(opts: SqliteTelemetryReadsOptions): SqliteTelemetryReads {
  return new SqliteTelemetryReads(opts);
}
