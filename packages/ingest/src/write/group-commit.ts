import { ApiError, type Logger } from '@mosis/shared';
import { RETRY_AFTER_SECONDS, WAL_HOLD_MAX_MS, WAL_HOLD_POLL_MS } from '../limits.js';
import type { TelemetryStore, WriteRequest, WriteResult } from '../store/types.js';

export interface WriterOptions {
  /** Queued events above which submit() refuses (503). */
  maxQueuedEvents: number;
  /** Queued bytes (request bodies) above which submit() refuses (503). */
  maxQueuedBytes: number;
  /** A flush starts as soon as this many events are queued. */
  flushMaxEvents: number;
  /** ...or this many ms after the first request was queued. */
  flushIntervalMs: number;
  /**
   * While this says so, the next commit waits (polled every `holdPollMs`, at most `holdMaxMs` per hold),
   * and the queue fills up to its bound (503): a WAL checkpoint in progress (`checkpointer.ts`) or
   * Litestream falling behind (`wal-index.ts`). Not consulted while closing, so shutdown never waits on it.
   */
  hold?: () => boolean;
  holdPollMs?: number;
  holdMaxMs?: number;
}

/** What the writer reports about each flush (metrics hook). */
export interface FlushStats {
  requests: number;
  rows: number;
  seconds: number;
  ok: boolean;
  /** Seconds the flush was held back by `hold` before it ran. */
  heldSeconds: number;
}

interface Pending {
  request: WriteRequest;
  weightBytes: number;
  resolve: (r: WriteResult) => void;
  reject: (e: unknown) => void;
}

/**
 * The one writer of telemetry.db: a bounded queue of requests' rows committed together (group commit).
 * A flush runs when `flushMaxEvents` rows are waiting or `flushIntervalMs` after the first one, commits
 * everything waiting (up to `flushMaxEvents` rows per transaction) in one `BEGIN IMMEDIATE` transaction,
 * and only then resolves each request's promise: a 202 means committed.
 *
 * Other writes to telemetry.db (retention, rollup) go through `exclusive()`, which runs them between
 * flushes on the same connection.
 */
export class GroupCommitWriter {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private jobs: Array<() => void> = [];
  /** When the current hold began (performance.now()), if the next commit is being held. */
  private heldSince: number | undefined;

  constructor(
    private readonly store: TelemetryStore,
    private readonly opts: WriterOptions,
    private readonly log: Logger,
    private readonly onFlush: (s: FlushStats) => void = () => {},
  ) {}

  /** Rows waiting for a commit. */
  get depth(): number {
    return this.queuedRows;
  }

  get depthBytes(): number {
    return this.queuedBytes;
  }

  /** True when new requests are refused (503): the queue is over its bound, or the writer is closing. */
  get saturated(): boolean {
    return this.closed || this.queuedRows >= this.opts.maxQueuedEvents || this.queuedBytes >= this.opts.maxQueuedBytes;
  }

  /**
   * Queues one request's rows; resolves after the transaction holding them commits. Throws a 503 ApiError
   * at once when the queue is full, so nothing of that request is stored.
   */
  submit(request: WriteRequest, weightBytes: number): Promise<WriteResult> {
    if (this.saturated) throw queueFull(this.closed);
    if (request.rows.length === 0) return Promise.resolve({ stored: 0, duplicates: 0 });
    return new Promise<WriteResult>((resolve, reject) => {
      this.queue.push({ request, weightBytes, resolve, reject });
      this.queuedRows += request.rows.length;
      this.queuedBytes += weightBytes;
      this.schedule();
    });
  }

  /**
   * Runs `fn` (a synchronous write on the same connection, e.g. a retention or rollup transaction) at the
   * start of the next flush, so it never waits behind a long queue and never interleaves with a group
   * commit; the store then reloads what it caches (partitions may have been dropped).
   */
  exclusive<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.jobs.push(() => {
        try {
          resolve(fn());
        } catch (err) {
          reject(err);
        } finally {
          this.store.invalidate();
        }
      });
      this.scheduleNow();
    });
  }

  /** Resolves when everything queued so far is committed (or failed). */
  idle(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    this.scheduleNow();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new requests, then commits everything queued. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  private schedule(): void {
    if (this.queuedRows >= this.opts.flushMaxEvents || this.opts.flushIntervalMs === 0) this.scheduleNow();
    else if (!this.timer && !this.immediate) this.timer = setTimeout(() => this.flush(), this.opts.flushIntervalMs);
  }

  /** On the next turn of the event loop: requests parsed in this turn still join the same commit. */
  private scheduleNow(): void {
    if (this.immediate) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.immediate = setImmediate(() => this.flush());
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.immediate = undefined;
    const jobs = this.jobs.splice(0);
    for (const job of jobs) job();
    if (this.queue.length === 0) return this.notifyIdle();
    if (this.holding()) {
      this.timer = setTimeout(() => this.flush(), this.opts.holdPollMs ?? WAL_HOLD_POLL_MS);
      return;
    }
    const heldSeconds = this.heldSince === undefined ? 0 : (performance.now() - this.heldSince) / 1000;
    this.heldSince = undefined;

    // Take whole requests up to flushMaxEvents rows (at least one request, however large).
    let rows = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || rows + this.queue[n]!.request.rows.length <= this.opts.flushMaxEvents)) {
      rows += this.queue[n]!.request.rows.length;
      n++;
    }
    const batch = this.queue.splice(0, n);
    const start = performance.now();
    let ok = true;
    try {
      const results = this.store.write(batch.map((p) => p.request));
      this.release(batch);
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      ok = false;
      this.release(batch);
      this.writeOneByOne(batch, err);
    }
    this.onFlush({ requests: batch.length, rows, seconds: (performance.now() - start) / 1000, ok, heldSeconds });

    if (this.queue.length === 0) this.notifyIdle();
    else this.schedule();
  }

  /** True while the next commit should wait for `hold`; past `holdMaxMs` it goes ahead, with a warning. */
  private holding(): boolean {
    if (this.closed || !this.opts.hold?.()) return false;
    const now = performance.now();
    this.heldSince ??= now;
    const maxMs = this.opts.holdMaxMs ?? WAL_HOLD_MAX_MS;
    if (now - this.heldSince < maxMs) return true;
    this.log.warn('commit held past its limit for a WAL checkpoint, writing anyway: is Litestream running and keeping up?', { held_ms: Math.round(now - this.heldSince) });
    return false;
  }

  /**
   * A failed group commit is retried request by request, so one request whose rows cannot be written
   * does not fail the others; a request that fails alone gets a 503 (nothing of it stored).
   */
  private writeOneByOne(batch: Pending[], groupError: unknown): void {
    this.log.error('group commit failed, retrying requests one by one', { err: groupError, requests: batch.length });
    for (const p of batch) {
      try {
        p.resolve(this.store.write([p.request])[0]!);
      } catch (err) {
        this.log.error('write failed', { err });
        p.reject(
          new ApiError(503, 'unavailable', 'storage is unavailable, retry later', { retry_after: RETRY_AFTER_SECONDS }, {
            'Retry-After': String(RETRY_AFTER_SECONDS),
          }, { cause: err }),
        );
      }
    }
  }

  private release(batch: Pending[]): void {
    for (const p of batch) {
      this.queuedRows -= p.request.rows.length;
      this.queuedBytes -= p.weightBytes;
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

function queueFull(closing: boolean): ApiError {
  return ApiError.unavailable(RETRY_AFTER_SECONDS, closing ? 'service is stopping, retry later' : 'write queue is full, retry later');
}
