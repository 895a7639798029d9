import { createHash } from 'node:crypto';
import { openPgPool } from './pool.js';
import { PgTelemetryWriter } from './writer.js';
import type { EventRecord, WriteRequest } from '../types.js';

/**
 * A stand-in ingest process for the multi-process tests (processes.test.ts), run from dist/: it writes
 * deterministic batches through its own PgTelemetryWriter and pool, and prints `ack <batch> <stored>
 * <duplicates>` once each commit resolved, as ingest answers 202. Env: MOSIS_TEST_PG_URL; BATCHES (how
 * many), EVERY (only batches b with b % EVERY === 0), SHIFT_MS (added to every timestamp: a retry whose
 * corrected sent_at moved it, across midnight for some rows).
 */

const DAY_MS = 86_400_000;
export const DEVICES_PER_BATCH = 20;
export const EVENTS_PER_DEVICE = 25;

/** The events of batch `b`, the same in every process (ids derived from b, device and index). */
export function batchOf(b: number, shiftMs: number, midnight: number): Array<WriteRequest & { kind: 'events' }> {
  return Array.from({ length: DEVICES_PER_BATCH }, (_, d) => ({
    kind: 'events' as const,
    rows: Array.from({ length: EVENTS_PER_DEVICE }, (_, i): EventRecord => {
      const h = createHash('sha256').update(`${b}:${d}:${i}`).digest();
      return {
        appId: `proc-app-${d % 2}`,
        packageId: `com.proc.app${d % 2}`,
        deviceHash: BigInt(1000 + d),
        eventType: `t${i % 4}`,
        // Around midnight: some rows of a shifted retry fall in the other day.
        timestamp: midnight - 60_000 + (b * EVENTS_PER_DEVICE + i) * 7 + shiftMs,
        eventId: h.subarray(0, 16),
        mosisVersion: '2.0.0',
        appVersion: '1.0.0',
        data: null,
      };
    }),
  }));
}

async function main(): Promise<void> {
  const pool = openPgPool(process.env.MOSIS_TEST_PG_URL!, { applicationName: 'mosis-test-writer' });
  const writer = new PgTelemetryWriter(pool, { maxEventTypesPerApp: 1000 });
  const batches = Number(process.env.BATCHES);
  const every = Number(process.env.EVERY ?? 1);
  const shift = Number(process.env.SHIFT_MS ?? 0);
  const midnight = Number(process.env.MIDNIGHT ?? Math.floor(Date.now() / DAY_MS) * DAY_MS);
  for (let b = 0; b < batches; b++) {
    if (b % every !== 0) continue;
    const res = await writer.write(batchOf(b, shift, midnight));
    const stored = res.reduce((n, r) => n + r.stored, 0);
    const dup = res.reduce((n, r) => n + r.duplicates, 0);
    process.stdout.write(`ack ${b} ${stored} ${dup}\n`);
  }
  await pool.end();
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
