import type { Logger } from '@mosis/shared';
import { PG_WRITE_TX_TIMEOUT_MS } from '../limits.js';
import { PgTelemetryMaintenance } from './postgres/maintenance.js';
import { migratePgUp, pgMigrationStatus } from './postgres/migrate.js';
import { openPgPool, redactUrl, type PgPool } from './postgres/pool.js';
import { openPgReadiness } from './postgres/ready.js';
import type { TelemetryWriter } from './types.js';
import { PgTelemetryWriter } from './postgres/writer.js';

/**
 * Where telemetry lives, chosen once from config: TELEMETRY_DATABASE_URL set puts it on PostgreSQL
 * (store/postgres/), unset keeps telemetry.db (store/sqlite/ and store/sqlite/store.ts, opened by the caller as
 * before). The write path and the scheduler use what this returns and nothing of the driver.
 */

export interface SqliteTelemetryBackend {
  kind: 'sqlite';
}

export interface PgTelemetryBackend {
  kind: 'postgres';
  writer: TelemetryWriter;
  maintenance: PgTelemetryMaintenance;
  /** Whether the database answers, within PG_READY_TIMEOUT_MS (readiness; postgres/ready.ts). */
  ready(): Promise<boolean>;
  /** Ends the writer and the pool. */
  close(): Promise<void>;
}

export type TelemetryBackend = SqliteTelemetryBackend | PgTelemetryBackend;

export interface TelemetryBackendConfig {
  TELEMETRY_DATABASE_URL?: string | undefined;
  TELEMETRY_PG_POOL_MAX: number;
  MIGRATE_ON_START: boolean;
  MAX_EVENT_TYPES_PER_APP: number;
}

/**
 * A session idle inside a transaction longer than this is ended by the server. The writer bounds its own
 * transactions tighter (PG_WRITE_TX_TIMEOUT_MS); maintenance steps do JS work (sketches) between statements.
 */
const PG_IDLE_IN_TRANSACTION_MS = 30 * PG_WRITE_TX_TIMEOUT_MS;

/** Opens the telemetry backend the config names: on PostgreSQL, migrated (unless MIGRATE_ON_START=false) and with this month's and next month's partitions. */
export async function openTelemetry(
  config: TelemetryBackendConfig,
  opts: { log: Logger; now?: () => number; applicationName?: string },
): Promise<TelemetryBackend> {
  const url = config.TELEMETRY_DATABASE_URL;
  if (!url) return { kind: 'sqlite' };
  const applicationName = opts.applicationName ?? 'mosis-ingest';
  const pool: PgPool = openPgPool(url, {
    max: config.TELEMETRY_PG_POOL_MAX,
    applicationName,
    idleInTransactionTimeoutMs: PG_IDLE_IN_TRANSACTION_MS,
  });
  try {
    if (config.MIGRATE_ON_START) {
      const applied = await migratePgUp(pool);
      if (applied.length) opts.log.info('telemetry migrations applied on PostgreSQL', { applied });
    } else {
      const { pending } = await pgMigrationStatus(pool);
      if (pending.length) throw new Error(`telemetry migrations pending (${pending.join(', ')}) and MIGRATE_ON_START=false`);
    }
    const maintenance = new PgTelemetryMaintenance({ pool, log: opts.log, ...(opts.now && { now: opts.now }) });
    await maintenance.ensurePartitionsAhead();
    const writer = new PgTelemetryWriter(pool, { maxEventTypesPerApp: config.MAX_EVENT_TYPES_PER_APP, ...(opts.now && { now: opts.now }) });
    const readiness = openPgReadiness(url, { applicationName: `${applicationName}-ready` });
    return {
      kind: 'postgres',
      writer,
      maintenance,
      ready: () => readiness.ready(),
      async close() {
        await writer.close();
        await readiness.close();
        await pool.end();
      },
    };
  } catch (err) {
    await pool.end().catch(() => {});
    throw new Error(`telemetry on PostgreSQL (${redactUrl(url)}): ${(err as Error).message}`, { cause: err });
  }
}
