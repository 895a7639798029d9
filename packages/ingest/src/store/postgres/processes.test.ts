import { spawnNode, type ChildHandle } from '@mosis/shared';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMigratedPgDatabase, describePg } from './testing.js';
import { DEVICES_PER_BATCH, EVENTS_PER_DEVICE } from './testing-writer-process.js';

// Several real processes writing to one PostgreSQL, as several ingest processes do: one is SIGKILLed in the
// middle of its commits; every batch it had acknowledged is stored, and after a restart that retries
// everything, each event is stored exactly once although two processes retried the same batches at once,
// some rows shifted into the neighbouring day. Runs the built dist/ (npm test builds first).

const SCRIPT = fileURLToPath(new URL('../../../dist/store/postgres/testing-writer-process.js', import.meta.url));
const BATCHES = 40;
const PER_BATCH = DEVICES_PER_BATCH * EVENTS_PER_DEVICE;
const DAY_MS = 86_400_000;

describePg('several writer processes on one PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createMigratedPgDatabase>>;
  const children: ChildHandle[] = [];
  beforeAll(async () => {
    if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} missing: build first (npx tsc -b)`);
    db = await createMigratedPgDatabase();
  });
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await db?.close();
  });

  const midnight = String(Math.floor(Date.now() / DAY_MS) * DAY_MS);
  const start = (env: Record<string, string>) => {
    const c = spawnNode(SCRIPT, [], { MOSIS_TEST_PG_URL: db.url, BATCHES: String(BATCHES), MIDNIGHT: midnight, ...env });
    children.push(c);
    return c;
  };
  const acks = (c: ChildHandle) => [...c.output().matchAll(/^ack (\d+) (\d+) (\d+)$/gm)].map((m) => Number(m[1]));
  /** Resolves once `c` has printed `n` acks. */
  const acked = (c: ChildHandle, n: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (acks(c).length >= n) {
          c.child.stdout!.off('data', check);
          resolve();
        }
      };
      c.child.stdout!.on('data', check);
      void c.exited.then(() => (acks(c).length >= n ? resolve() : reject(new Error(`exited before ${n} acks: ${c.output()}`))));
      check();
    });

  it('loses no acknowledged batch when one process is killed, and stores each event once after retries', async () => {
    // A writes every batch; B, at the same time, only the even ones, shifted 90 s (some rows cross midnight).
    const a = start({});
    const b = start({ EVERY: '2', SHIFT_MS: '90000' });
    await acked(a, 8);
    a.child.kill('SIGKILL');
    await a.exited;
    expect((await b.exited).code).toBe(0);
    const ackedByA = acks(a);
    expect(ackedByA.length).toBeGreaterThanOrEqual(8);

    // Every batch A acknowledged is there, odd ones included (B never wrote those): by its event ids.
    const ids = await db.pool.query<{ id: string }>('SELECT event_id::text AS id FROM telemetry_events');
    const have = new Set(ids.rows.map((r) => r.id));
    const { batchOf } = await import('./testing-writer-process.js');
    for (const n of ackedByA) {
      for (const r of batchOf(n, 0, Number(midnight))) {
        for (const e of r.rows) {
          const h = e.eventId!.toString('hex');
          expect(have.has(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`)).toBe(true);
        }
      }
    }

    // A restarts and retries everything (devices resend what was not acknowledged; acknowledged ones too,
    // harmlessly), while B retries the even batches once more.
    const again = [start({}), start({ EVERY: '2', SHIFT_MS: '90000' })];
    for (const c of again) expect((await c.exited).code, c.output()).toBe(0);
    const total = await db.pool.query<{ n: bigint; ids: bigint }>('SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM telemetry_events');
    expect(total.rows[0]).toEqual({ n: BigInt(BATCHES * PER_BATCH), ids: BigInt(BATCHES * PER_BATCH) });
    // What the processes reported stored adds up: every row once, but for the batch A was killed in (it
    // may have committed without A saying so).
    const reported = [a, b, ...again].flatMap((c) => [...c.output().matchAll(/^ack (\d+) (\d+) (\d+)$/gm)]).reduce((n, m) => n + Number(m[2]), 0);
    expect(reported).toBeLessThanOrEqual(BATCHES * PER_BATCH);
    expect(reported).toBeGreaterThanOrEqual(BATCHES * PER_BATCH - PER_BATCH);
  });
});
