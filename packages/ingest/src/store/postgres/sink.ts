import type { PgTelemetryBackend } from '../backend.js';
import type { TelemetrySink } from '../types.js';

/** PostgreSQL: the backend's writer (several processes may write at once); no WAL of ours to wait for. */
export function pgSink(backend: PgTelemetryBackend): TelemetrySink {
  return {
    store: backend.writer,
    maintenance: backend.maintenance,
    ready: { name: 'telemetry_pg', ok: () => backend.ready() },
    // The pool is the backend's: main closes it after the writer has drained.
    close: async () => {},
  };
}
