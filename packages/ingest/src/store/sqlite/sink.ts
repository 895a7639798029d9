import { isWritable, type DB, type Logger } from '@mosis/shared';
import { CHECKPOINT_HOLD_POLL_MS } from '../../limits.js';
import type { TelemetrySink } from '../types.js';
import { Checkpointer } from './checkpointer.js';
import { SqliteTelemetryMaintenance } from './maintenance.js';
import type { WriteGate } from './pipeline.js';
import { replicationBackpressure, WalIndexReader } from './wal-index.js';
import { SqliteTelemetryWriter } from './writer.js';

export interface SqliteSinkOptions {
  log: Logger;
  /** Under Litestream (which checkpoints, and which commits wait for): LITESTREAM=true. */
  litestream: boolean;
  cacheMiB: number;
  maxEventTypesPerApp: number;
  /** Under Litestream, commits wait while the WAL holds more than this (bytes). */
  walMaxBytes: number;
  /** The group-commit writer's slot between commits, for the jobs' write transactions. */
  exclusive: WriteGate;
  now?: () => number;
  /** Tests: the writer thread waits before each commit while `gate[0]` is 0. */
  gate?: Int32Array;
}

/**
 * telemetry.db as ingest writes it: the writer thread, the checkpointer thread (or, under Litestream, a
 * hold while Litestream is behind), the jobs on the same connection, and the main connection's page cache.
 */
export function openSqliteSink(telemetry: DB, opts: SqliteSinkOptions): TelemetrySink & { checkpointer: Checkpointer | undefined } {
  // Set here, where the write path is built: the cache counts in RSS, and ingest has a memory budget.
  telemetry.pragma(`cache_size = -${opts.cacheMiB * 1024}`);
  const wal = new WalIndexReader(telemetry.name);
  // Under Litestream, Litestream checkpoints and ingest waits for it; otherwise a thread of ours checkpoints.
  const checkpointer = opts.litestream ? undefined : new Checkpointer(telemetry, wal, opts.log, (pages) => store.setAutocheckpoint(pages));
  const store = new SqliteTelemetryWriter(telemetry.name, {
    log: opts.log,
    litestream: opts.litestream,
    cacheMiB: opts.cacheMiB,
    maxEventTypesPerApp: opts.maxEventTypesPerApp,
    // The checkpointer thread checkpoints: the writer's commits never do.
    ...(checkpointer && { walAutocheckpointPages: 0 }),
    ...(opts.now && { now: opts.now }),
    ...(opts.gate && { gate: opts.gate }),
  });
  const maintenance = new SqliteTelemetryMaintenance({ db: telemetry, litestream: opts.litestream, log: opts.log, exclusive: opts.exclusive, ...(opts.now && { now: opts.now }) });
  return {
    store,
    maintenance,
    // Commits wait while the WAL is checkpointed: Litestream's when it falls behind, ours while it RESTARTs.
    hold: checkpointer ? () => checkpointer.restarting : replicationBackpressure(wal, opts.walMaxBytes),
    ...(checkpointer && { holdPollMs: CHECKPOINT_HOLD_POLL_MS }),
    checkpointer,
    ready: { name: 'telemetry_db', ok: () => isWritable(telemetry) },
    close: async () => {
      await checkpointer?.stop();
      wal.close();
    },
  };
}
