import { performance } from 'node:perf_hooks';
import { PG_SETTLE_MS } from '../../limits.js';
import type { PgClient, PgPool } from './pool.js';

/**
 * The settled position of telemetry_events on PostgreSQL: an id such that every row with an id at or below
 * it is committed (or never will be). Ids come from one sequence in the order they are handed out, but the
 * transactions holding them commit in any order across sessions, so "max(id) now" can pass a row that an
 * open transaction commits a moment later, and a tail following it would never show that row.
 *
 * Every inserting transaction is bounded (the writer's statement timeout, the pool's idle-in-transaction
 * timeout) by less than the settle delay D. So a sample "at time t the sequence had handed out up to L"
 * settles at t + D: all of L's transactions have ended by then. This reader samples the sequence on each
 * call and keeps the samples of the last D; it also takes the samples maintenance writes into
 * position_samples (by the server's clock). A reader that has neither yet (just started, no maintenance
 * sample) waits D once, on its first call, so that its first head already means "from now on".
 * The price: on PostgreSQL the live tail shows a row about D after its commit.
 */

export interface SettledPositionOptions {
  /** D, ms: longer than any inserting transaction may last (default PG_SETTLE_MS). */
  settleDelayMs?: number;
  /** A monotonic clock in ms (tests drive it). */
  clock?: () => number;
  /** Waits `ms` on that clock (tests advance theirs). */
  wait?: (ms: number) => Promise<void>;
}

interface Sample {
  at: number;
  lastId: bigint;
}

/** Samples are kept about this far apart (a fraction of D), so about 64 are kept. */
const SAMPLE_SPACING = 1 / 64;

export class SettledPosition {
  private samples: Sample[] = [];
  private settled = 0n;
  private readonly delay: number;
  private readonly clock: () => number;
  private readonly wait: (ms: number) => Promise<void>;
  /** Whether a sample has settled (or one of maintenance's was found) since the start. */
  private primed = false;

  constructor(opts: SettledPositionOptions = {}) {
    this.delay = opts.settleDelayMs ?? PG_SETTLE_MS;
    this.clock = opts.clock ?? (() => performance.now());
    this.wait = opts.wait ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Samples the sequence on `c` and answers the settled position now (never lower than an earlier answer). */
  async now(c: PgClient | PgPool): Promise<bigint> {
    await this.sample(c);
    if (!this.primed) {
      // Nothing settled yet: until the first sample has, the position would lag the whole history.
      await this.wait(this.delay);
      await this.sample(c);
    }
    return this.settled;
  }

  private async sample(c: PgClient | PgPool): Promise<void> {
    const res = await c.query<{ last: bigint; sampled: bigint | null }>(
      `SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM telemetry_events_id_seq) AS last,
              (SELECT max(last_id) FROM position_samples WHERE kind = 'events' AND taken_at <= now() - $1 * interval '1 millisecond') AS sampled`,
      [this.delay],
    );
    // The sample is taken when the answer arrives: later than the server read it, so on the safe side.
    const at = this.clock();
    const row = res.rows[0]!;
    // At most one sample per spacing: a new one within the spacing of the one before the last replaces the
    // last (never a sample that has to age: the one before stays), else it is added.
    const sample = { at, lastId: BigInt(row.last) };
    const before = this.samples.at(-2);
    if (before && this.samples.length && at - before.at < this.delay * SAMPLE_SPACING) this.samples[this.samples.length - 1] = sample;
    else this.samples.push(sample);
    let settledAt = -1;
    for (let i = 0; i < this.samples.length && this.samples[i]!.at <= at - this.delay; i++) settledAt = i;
    if (settledAt >= 0) {
      this.primed = true;
      const s = this.samples[settledAt]!;
      if (s.lastId > this.settled) this.settled = s.lastId;
      this.samples = this.samples.slice(settledAt + 1);
    }
    if (row.sampled !== null) {
      this.primed = true;
      if (BigInt(row.sampled) > this.settled) this.settled = BigInt(row.sampled);
    }
  }
}
