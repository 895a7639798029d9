// A writer process of the pg bench: writes `EVENTS` events in group commits of 20 requests x 100 events
// through its own pool and PgTelemetryWriter, then prints one JSON line (events, seconds, commit latencies).
import { ROOT } from './service.mjs';
import { commitBatch } from './pg-batches.mjs';

const { openPgPool } = await import(`${ROOT}packages/ingest/dist/store/postgres/pool.js`);
const { PgTelemetryWriter } = await import(`${ROOT}packages/ingest/dist/store/postgres/writer.js`);

const pool = openPgPool(process.env.PG_URL, { applicationName: 'mosis-bench' });
const writer = new PgTelemetryWriter(pool, { maxEventTypesPerApp: 1000 });
const events = Number(process.env.EVENTS);
const seed = Number(process.env.SEED ?? 0);
await writer.write(commitBatch(seed, -1));
const latencies = [];
const t0 = performance.now();
let written = 0;
for (let i = 0; written < events; i++) {
  const batch = commitBatch(seed, i);
  const s = performance.now();
  await writer.write(batch);
  latencies.push(performance.now() - s);
  written += batch.reduce((n, r) => n + r.rows.length, 0);
}
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage();
console.log(JSON.stringify({ events: written, seconds, latencies, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
await pool.end();
