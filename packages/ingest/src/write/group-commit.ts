import { ApiError, type Logger } from '@mosis/shared';
import { QUEUE_FULL_LOG_INTERVAL_MS, RETRY_AFTER_SECONDS, WAL_HOLD_MAX_MS, WAL_HOLD_POLL_MS } from '../limits.js';
import { WriterUnavailableError, type TelemetryWriter, type WriteRequest, type WriteResult } from '../store/types.js';

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
 * A flush runs when `flushMaxEvents` rows are waiting or `flushIntervalMs` after the first one (at once
 * under load, see schedule()), commits
 * everything waiting (up to `flushMaxEvents` rows per transaction) in one `BEGIN IMMEDIATE` transaction,
 * and only then resolves each request's promise: a 202 means committed. The commit itself is asynchronous
 * (the SQLite store commits in a worker thread): one flush is in flight at a time, and requests queue up
 * meanwhile for the next one.
 *
 * Other writes to telemetry.db (retention, rollup) go through `exclusive()`, which runs them on the main
 * thread's connection between flushes, never while one is in flight, so they never wait for the write lock.
 */
export class GroupCommitWriter {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  /** A commit is in flight (at most one). */
  private flushing = false;
  /** When the last commit ended (performance.now()). */
  private lastCommitEnd = -Infinity;
  private jobs: Array<() => void> = [];
  /** When the current hold began (performance.now()), if the next commit is being held. */
  private heldSince: number | undefined;
  /** Saturated since the queue was last empty; `fullLoggedAt`: when that was last logged (performance.now()). */
  private refusing = false;
  private refusingLogged = false;
  private fullLoggedAt = -Infinity;
  private readonly flushListeners = new Set<(s: FlushStats) => void>();
  private watchers: Array<{ test: () => boolean; resolve: () => void }> = [];

  constructor(
    private readonly store: TelemetryWriter,
    private readonly opts: WriterOptions,
    private readonly log: Logger,
    onFlush?: (s: FlushStats) => void,
  ) {
    if (onFlush) this.flushListeners.add(onFlush);
  }

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

  /** True while a commit is in flight. */
  get committing(): boolean {
    return this.flushing;
  }

  /** True while the next commit waits for `hold`: nothing queued can be committed (or answered) meanwhile. */
  get holding(): boolean {
    return this.heldSince !== undefined;
  }

  /** Calls `listener` after every flush (committed or failed); returns the function that stops it. */
  onFlush(listener: (s: FlushStats) => void): () => void {
    this.flushListeners.add(listener);
    return () => this.flushListeners.delete(listener);
  }

  /**
   * Resolves once `test` holds, checked now and after every change of the queue (a request queued, a flush,
   * a hold beginning): for tests and shutdown, which wait on the writer's state instead of on time.
   */
  when(test: () => boolean): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push({ test, resolve }));
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
      this.changed();
    });
  }

  /**
   * Runs `fn` (a synchronous write on the main thread's connection, e.g. a retention or rollup transaction)
   * at the start of the next flush, so it never waits behind a long queue, and never while a group commit is
   * in flight: the writer's lock is free, so `fn` never waits for it (nor stalls the event loop doing so).
   * The store then reloads what it caches (partitions may have been dropped).
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
    if (this.queue.length === 0 && !this.flushing) return Promise.resolve();
    if (!this.flushing) this.scheduleNow();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new requests, commits everything queued, then ends the store's writer (its thread). */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    await this.store.close();
  }

  /**
   * A request that finds the writer idle waits up to `flushIntervalMs` for others to share its commit. Under
   * load (the last commit ended less than that ago) it does not: the requests answered by that commit are
   * coming back, and waiting would leave the writer idle while they do; they share the next commit anyway,
   * with whatever queues while it is in flight.
   */
  private schedule(): void {
    const underLoad = performance.now() - this.lastCommitEnd < this.opts.flushIntervalMs;
    if (this.queuedRows >= this.opts.flushMaxEvents || this.opts.flushIntervalMs === 0 || underLoad) this.scheduleNow();
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
    // The commit in flight schedules the next flush (and the jobs) when it ends.
    if (this.flushing) return;
    const jobs = this.jobs.splice(0);
    for (const job of jobs) job();
    if (this.queue.length === 0) return this.notifyIdle();
    if (this.holdNext()) {
      this.timer = setTimeout(() => this.flush(), this.opts.holdPollMs ?? WAL_HOLD_POLL_MS);
      this.changed();
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
    this.flushing = true;
    void this.commit(this.queue.splice(0, n), rows, heldSeconds);
    this.changed();
  }

  private async commit(batch: Pending[], rows: number, heldSeconds: number): Promise<void> {
    const start = performance.now();
    let ok = true;
    try {
      const results = await this.store.write(batch.map((p) => p.request));
      this.release(batch);
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      ok = false;
      this.release(batch);
      await this.writeOneByOne(batch, err);
    }
    this.flushing = false;
    this.lastCommitEnd = performance.now();
    const stats: FlushStats = { requests: batch.length, rows, seconds: (performance.now() - start) / 1000, ok, heldSeconds };
    for (const listener of this.flushListeners) listener(stats);

    // What queued during the commit has waited at least that long: it goes at once, with any job.
    if (this.jobs.length > 0 || this.queue.length > 0) this.scheduleNow();
    else this.notifyIdle();
    this.changed();
  }

  /** True while the next commit should wait for `hold`; past `holdMaxMs` it goes ahead, with a warning. */
  private holdNext(): boolean {
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
   * does not fail the others; a request that fails alone gets a 503 (nothing of it stored). A writer that
   * lost the commit in flight (WriterUnavailableError) cannot say whether it committed: no retry, all 503.
   */
  private async writeOneByOne(batch: Pending[], groupError: unknown): Promise<void> {
    if (groupError instanceof WriterUnavailableError) {
      this.log.error('group commit lost with the writer, answering its requests 503', { err: groupError, requests: batch.length });
      for (const p of batch) p.reject(storageUnavailable(groupError));
      return;
    }
    this.log.error('group commit failed, retrying requests one by one', { err: groupError, requests: batch.length });
    for (const p of batch) {
      try {
        p.resolve((await this.store.write([p.request]))[0]!);
      } catch (err) {
        this.log.error('write failed', { err });
        p.reject(storageUnavailable(err));
      }
    }
  }

  private release(batch: Pending[]): void {
    for (const p of batch) {
      this.queuedRows -= p.request.rows.length;
      this.queuedBytes -= p.weightBytes;
    }
  }

  /**
   * After a change of the queue: logs when it starts refusing requests and when it has drained (state
   * changes; each refused request is only counted), at most once per QUEUE_FULL_LOG_INTERVAL_MS under a
   * load that keeps filling it. Then wakes the watchers whose condition now holds.
   */
  private changed(): void {
    if (this.closed) {
      // Shutdown refuses everything: not an overload.
    } else if (!this.refusing && this.saturated) {
      this.refusing = true;
      const now = performance.now();
      if (now - this.fullLoggedAt >= QUEUE_FULL_LOG_INTERVAL_MS) {
        this.fullLoggedAt = now;
        this.refusingLogged = true;
        this.log.warn('write queue full: refusing new requests (503) until it drains', { queued_rows: this.queuedRows, queued_bytes: this.queuedBytes });
      }
    } else if (this.refusing && this.queuedRows === 0) {
      this.refusing = false;
      if (this.refusingLogged) this.log.info('write queue drained: accepting requests again');
      this.refusingLogged = false;
    }
    if (this.watchers.length === 0) return;
    const waiting = this.watchers;
    this.watchers = [];
    for (const w of waiting) {
      if (w.test()) w.resolve();
      else this.watchers.push(w);
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

function storageUnavailable(cause: unknown): ApiError {
  return new ApiError(503, 'unavailable', 'storage is unavailable, retry later', { retry_after: RETRY_AFTER_SECONDS }, { 'Retry-After': String(RETRY_AFTER_SECONDS) }, { cause });
}

function queueFull(closing: boolean): ApiError {
  return ApiError.unavailable(RETRY_AFTER_SECONDS, closing ? 'service is stopping, retry later' : 'write queue is full, retry later');
}
