import { createLogger, tempDir } from '@mosis/shared';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createIngest } from './app.js';
import { loadIngestConfig } from './config.js';
import { openTelemetry, type PgTelemetryBackend } from './store/backend.js';
import { PgAppRegistryPublisher } from './store/postgres/app-registry.js';
import { openPgPool } from './store/postgres/pool.js';
import { createTestPgDatabase, describePg } from './store/postgres/testing.js';
import { event } from './testing.js';

// The ingest app on PostgreSQL in process: its writes go to the backend's writer, and /readyz asks the server.

const APP = 'com.dev.app';

describePg('ingest app on PostgreSQL', () => {
  const dir = tempDir('mosis-ingest-pg-');
  afterAll(() => dir.cleanup());

  it('stores a batch in PostgreSQL (no telemetry.db), and /readyz says 503 once the database is gone', async () => {
    const db = await createTestPgDatabase();
    const config = loadIngestConfig({ DATA_DIR: dir.path, LOG_LEVEL: 'silent', TELEMETRY_DATABASE_URL: db.url });
    const log = createLogger('ingest', 'silent');
    const backend = (await openTelemetry(config, { log })) as PgTelemetryBackend;
    const ingest = createIngest({ config, postgres: backend, log });
    const pool = openPgPool(db.url, { applicationName: 'mosis-test' });
    // No portal.db here: the app comes from the registry (openTelemetry migrated the database).
    await new PgAppRegistryPublisher(pool).publish([{ id: 'app-1', packageId: APP, status: 'published' }]);
    try {
      const ready = await ingest.app.request('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ok', checks: { telemetry_pg: true, queue: true } });

      const events = Array.from({ length: 3 }, () => event(APP));
      const res = await ingest.app.request('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ accepted: 3, duplicates: 0 });
      const stored = await pool.query<{ id: string }>('SELECT event_id::text AS id FROM telemetry_events ORDER BY id');
      expect(stored.rows.map((r) => r.id)).toEqual(events.map((e) => e.event_id).sort());
      await pool.end();
      expect(existsSync(join(dir.path, 'telemetry.db'))).toBe(false);

      await db.drop();
      const gone = await ingest.app.request('/readyz');
      expect(gone.status).toBe(503);
      expect(await gone.json()).toEqual({ status: 'unavailable', checks: { telemetry_pg: false, queue: true } });
    } finally {
      await ingest.close();
      await backend.close();
      await db.drop();
    }
  });
});
