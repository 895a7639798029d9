import { tempDir } from '@mosis/shared';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describePg } from './store/postgres/testing.js';
import { event } from './testing.js';
import { startPgTestIngest } from './testing-pg.js';

// The ingest app on PostgreSQL in process: its writes go to the backend's writer, and /readyz asks the server.

const APP = 'com.dev.app';

describePg('ingest app on PostgreSQL', () => {
  const dir = tempDir('mosis-ingest-pg-');
  afterAll(() => dir.cleanup());

  it('stores a batch in PostgreSQL (no telemetry.db), and /readyz says 503 once the database is gone', async () => {
    // No portal.db here: the app comes from the registry (openTelemetry migrated the database).
    const t = await startPgTestIngest({ dataDir: dir.path, apps: [{ id: 'app-1', packageId: APP }] });
    try {
      const ready = await t.ingest.app.request('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ok', checks: { telemetry_pg: true, queue: true } });

      const events = Array.from({ length: 3 }, () => event(APP));
      const res = await t.postEvents(events);
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ accepted: 3, duplicates: 0 });
      const stored = await t.pool.query<{ id: string }>('SELECT event_id::text AS id FROM telemetry_events ORDER BY id');
      expect(stored.rows.map((r) => r.id)).toEqual(events.map((e) => e.event_id).sort());
      expect(existsSync(join(dir.path, 'telemetry.db'))).toBe(false);

      await t.db.drop();
      const gone = await t.ingest.app.request('/readyz');
      expect(gone.status).toBe(503);
      expect(await gone.json()).toEqual({ status: 'unavailable', checks: { telemetry_pg: false, queue: true } });
    } finally {
      await t.stop();
    }
  });
});
