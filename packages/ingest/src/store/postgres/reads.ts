import { PG_READ_POOL_MAX } from '../../limits.js';
import { SplitTelemetryReads } from '../reads.js';
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
export class PgTelemetryReads extends SplitTelemetryReads {
  private healthy = true;
  private probing = false;

  constructor(
    private readonly pool: PgPool,
    opts: PgRawReadsOptions,
  ) {
    super(new PgAggregateReads(pool), new PgRawReads(pool, opts));
  }

  /**
   * For /readyz (a synchronous check): whether the server answered the last probe. Each call starts the
   * next probe, so a lost server shows on the check after the one that noticed.
   */
  ready(): boolean {
    if (!this.probing) {
      this.probing = true;
      this.pool
        .query('SELECT 1')
        .then(() => (this.healthy = true), () => (this.healthy = false))
        .finally(() => (this.probing = false));
    }
    return this.healthy;
  }

  /** At rest: nothing to do here; the pool ends its idle connections itself (PG_IDLE_TIMEOUT_MS). */
  releaseMemory(): void {}

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The telemetry reads of a deployment on PostgreSQL (TELEMETRY_DATABASE_URL); connections open on first use. */
export function openPgTelemetryReads(opts: PgTelemetryReadsOptions): PgTelemetryReads {
  const pool = openPgPool(opts.url, { max: opts.poolMax ?? PG_READ_POOL_MAX, applicationName: opts.applicationName ?? 'mosis-core-reads' });
  return new PgTelemetryReads(pool, opts);
}
