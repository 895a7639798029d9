import { PG_READ_POOL_MAX } from '../../limits.js';
import type { TelemetryReads } from '../reads.js';
import { PgAggregateReads } from './aggregate-reads.js';
import { openPgPool, type PgPool } from './pool.js';
import { PgRawReads, type PgRawReadsOptions } from './raw-reads.js';

export interface PgTelemetryReadsOptions extends PgRawReadsOptions {
  /** TELEMETRY_DATABASE_URL. */
  url: string;
  /** Connections of the reads' own pool (default PG_READ_POOL_MAX). */
  poolMax?: number;
  applicationName?: string;
}

/**
 * TelemetryReads over the telemetry PostgreSQL: the aggregates (PgAggregateReads) and the raw partitions
 * (PgRawReads) on a small pool of their own, used for reads only (each read is a READ ONLY transaction).
 * Until ingest has migrated the server every read answers empty, as SQLite's do before telemetry.db exists.
 */
export class PgTelemetryReads implements TelemetryReads {
  private readonly aggregates: PgAggregateReads;
  private readonly raw: PgRawReads;

  constructor(
    private readonly pool: PgPool,
    opts: PgRawReadsOptions,
  ) {
    this.aggregates = new PgAggregateReads(pool);
    this.raw = new PgRawReads(pool, opts);
  }

  /** For /readyz: the server answers. */
  async ready(): Promise<boolean> {
    try {
      await this.pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
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

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The telemetry reads of a deployment on PostgreSQL (TELEMETRY_DATABASE_URL); connections open on first use. */
export function openPgTelemetryReads(opts: PgTelemetryReadsOptions): PgTelemetryReads {
  const pool = openPgPool(opts.url, { max: opts.poolMax ?? PG_READ_POOL_MAX, applicationName: opts.applicationName ?? 'mosis-core-reads' });
  return new PgTelemetryReads(pool, opts);
}
