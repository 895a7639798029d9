import type { Metrics } from '@mosis/shared';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { AppLookup } from './apps/app-cache.js';
import type { FlushStats, GroupCommitWriter } from './write/group-commit.js';

/** Ingest's own Prometheus series, on top of the shared HTTP and process metrics. */
export interface IngestMetrics {
  accepted: Counter<'kind'>;
  duplicates: Counter<'kind'>;
  rejected: Counter<'kind' | 'reason'>;
  /** Requests refused with 503 because the queue was full or the service stopping. */
  refused: Counter<'reason'>;
  recordFlush(s: FlushStats): void;
}

/** Registers ingest's series; queue gauges are read from `writer` at scrape time. */
export function createIngestMetrics(
  m: Metrics,
  writer: () => GroupCommitWriter | undefined,
  apps: AppLookup & { size?: number; portalLookups?: number },
  bodyBytesInFlight: () => number = () => 0,
): IngestMetrics {
  const registers = [m.registry];
  const accepted = new Counter({ name: 'ingest_accepted_total', help: 'Events or crashes stored (kind = events | crashes)', labelNames: ['kind'] as const, registers });
  const duplicates = new Counter({ name: 'ingest_duplicates_total', help: 'Items not stored again because their id was already stored', labelNames: ['kind'] as const, registers });
  const rejected = new Counter({ name: 'ingest_rejected_total', help: 'Items rejected, by reason code', labelNames: ['kind', 'reason'] as const, registers });
  const refused = new Counter({ name: 'ingest_refused_requests_total', help: 'Requests answered 503 (queue_full | bodies_in_flight | stopping); nothing of them stored', labelNames: ['reason'] as const, registers });
  const flushRows = new Histogram({
    name: 'ingest_flush_rows',
    help: 'Rows committed per group-commit transaction',
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
    registers,
  });
  const flushRequests = new Histogram({
    name: 'ingest_flush_requests',
    help: 'Requests committed per group-commit transaction',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200],
    registers,
  });
  const flushSeconds = new Histogram({
    name: 'ingest_flush_duration_seconds',
    help: 'Duration of a group-commit transaction',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });
  const walHold = new Counter({
    name: 'ingest_wal_hold_seconds_total',
    help: 'Time commits waited for a WAL checkpoint: Litestream catching up (replication backpressure), or the checkpointer RESTARTing the WAL',
    registers,
  });
  const flushFailures = new Counter({ name: 'ingest_flush_failures_total', help: 'Group commits that failed and were retried one by one', registers });
  new Gauge({
    name: 'ingest_queue_depth',
    help: 'Rows waiting for a commit',
    registers,
    collect() {
      this.set(writer()?.depth ?? 0);
    },
  });
  new Gauge({
    name: 'ingest_queue_bytes',
    help: 'Request bytes waiting for a commit',
    registers,
    collect() {
      this.set(writer()?.depthBytes ?? 0);
    },
  });
  new Gauge({
    name: 'ingest_body_bytes_in_flight',
    help: 'Request body bytes reserved by requests being read and parsed',
    registers,
    collect() {
      this.set(bodyBytesInFlight());
    },
  });
  new Gauge({
    name: 'ingest_apps_known',
    help: 'Apps in the app cache (from portal.db)',
    registers,
    collect() {
      this.set(apps.size ?? 0);
    },
  });
  let lookups = 0;
  new Counter({
    name: 'ingest_app_lookups_total',
    help: 'Package ids missing from the app cache that were looked up in portal.db (unknown ones are then remembered for a while)',
    registers,
    collect() {
      const n = apps.portalLookups ?? 0;
      this.inc(n - lookups);
      lookups = n;
    },
  });
  return {
    accepted,
    duplicates,
    rejected,
    refused,
    recordFlush(s) {
      flushRows.observe(s.rows);
      flushRequests.observe(s.requests);
      flushSeconds.observe(s.seconds);
      if (!s.ok) flushFailures.inc();
      if (s.heldSeconds > 0) walHold.inc(s.heldSeconds);
    },
  };
}
