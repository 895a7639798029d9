import type { Logger } from '@mosis/shared';
import { Worker } from 'node:worker_threads';
import { WriterUnavailableError, type TelemetryWriter, type WriteRequest, type WriteResult } from '../types.js';
import { threadUrl } from './thread-url.js';
import { encodeBatch, type WireBatch } from './wire.js';

/** What the writer thread is started with (workerData). */
export interface ThreadInit {
  path: string;
  litestream: boolean;
  cacheMiB: number;
  maxEventTypesPerApp: number;
  /** Set when someone else checkpoints (ingest's checkpointer thread): 0 then. */
  walAutocheckpointPages?: number;
  /**
   * For tests: before each commit the thread waits while `gate[0]` is 0, so a write stays in flight in a
   * way a test can end the thread in (a thread ended inside a SQLite call aborts the process: better-sqlite3).
   */
  gate?: Int32Array;
}

export type ToThread =
  | { type: 'write'; id: number; batch: WireBatch; receivedAt: number }
  | { type: 'invalidate' }
  | { type: 'autocheckpoint'; pages: number }
  | { type: 'close' };

export type FromThread =
  | { type: 'done'; id: number; results: WriteResult[] }
  | { type: 'failed'; id: number; message: string; code?: string };

export interface SqliteWriterOptions extends Omit<ThreadInit, 'path'> {
  log: Logger;
  /** Server clock (Unix ms) read once per commit for the rows' `received_at`; default Date.now. */
  now?: () => number;
}

interface Thread {
  worker: Worker;
  exited: Promise<void>;
  /** Its writes not yet answered, by message id. */
  inFlight: Map<number, { resolve: (r: WriteResult[]) => void; reject: (e: unknown) => void }>;
}

/**
 * The SQLite telemetry writer: the store's group commits run in a worker thread (writer-thread.ts) that owns
 * the write connection, and come back as results; requests are read and parsed on the event loop meanwhile.
 * Rows cross in a compact encoding (wire.ts). The thread starts on the first write (an idle ingest holds no thread and
 * no second page cache), and a thread that dies fails the writes in flight with WriterUnavailableError (they
 * may or may not have committed: 503, never 202); the next write starts a new one.
 */
export class SqliteTelemetryWriter implements TelemetryWriter {
  private thread: Thread | undefined;
  /** Threads still running (one, or a closing one and its successor). */
  private readonly threads = new Set<Thread>();
  private nextId = 1;
  private autocheckpoint: number | undefined;
  /** Threads started so far (tests and metrics). */
  started = 0;

  constructor(
    private readonly path: string,
    private readonly opts: SqliteWriterOptions,
  ) {
    this.autocheckpoint = opts.walAutocheckpointPages;
  }

  /** Writes handed to the thread and not yet answered. */
  get pending(): number {
    let n = 0;
    for (const t of this.threads) n += t.inFlight.size;
    return n;
  }

  /** True while a thread is running. */
  get running(): boolean {
    return this.thread !== undefined;
  }

  write(requests: readonly WriteRequest[]): Promise<WriteResult[]> {
    const { worker, inFlight } = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      inFlight.set(id, { resolve, reject });
      const { batch, transfer } = encodeBatch(requests);
      const msg: ToThread = { type: 'write', id, batch, receivedAt: (this.opts.now ?? Date.now)() };
      worker.postMessage(msg, transfer);
    });
  }

  invalidate(): void {
    // A thread not running caches nothing; the next one starts with empty caches.
    this.post({ type: 'invalidate' });
  }

  /** The thread's connection checkpoints at `pages` from now on (the checkpointer thread has gone). */
  setAutocheckpoint(pages: number): void {
    this.autocheckpoint = pages;
    this.post({ type: 'autocheckpoint', pages });
  }

  /** Ends the thread after the writes already handed to it (messages are handled in order). */
  async close(): Promise<void> {
    const t = this.thread;
    if (!t) return;
    this.post({ type: 'close' });
    // A write from now on starts a new thread rather than join one that is ending.
    this.thread = undefined;
    await t.exited;
  }

  /** For tests: ends the thread as a crash would; resolves once it is gone. */
  async kill(): Promise<void> {
    const t = this.thread;
    if (!t) return;
    await t.worker.terminate();
    await t.exited;
  }

  private post(msg: ToThread): void {
    this.thread?.worker.postMessage(msg);
  }

  private start(): Thread {
    if (this.thread) return this.thread;
    const init: ThreadInit = {
      path: this.path,
      litestream: this.opts.litestream,
      cacheMiB: this.opts.cacheMiB,
      maxEventTypesPerApp: this.opts.maxEventTypesPerApp,
      ...(this.autocheckpoint !== undefined && { walAutocheckpointPages: this.autocheckpoint }),
      ...(this.opts.gate && { gate: this.opts.gate }),
    };
    const worker = new Worker(threadUrl('writer-thread.js'), { workerData: init });
    const inFlight: Thread['inFlight'] = new Map();
    let error: Error | undefined;
    const exited = new Promise<void>((resolve) => {
      worker.once('error', (err) => {
        error = err;
        this.opts.log.error('writer thread failed', { err });
      });
      worker.once('exit', (code) => {
        if (this.thread?.worker === worker) this.thread = undefined;
        this.threads.delete(thread);
        const lost = [...inFlight.values()];
        inFlight.clear();
        if (lost.length) this.opts.log.error('writer thread ended with writes in flight: they are answered 503', { code, writes: lost.length });
        for (const p of lost) p.reject(new WriterUnavailableError(`writer thread ended (code ${code}) with the write in flight`, { cause: error }));
        resolve();
      });
    });
    worker.on('message', (msg: FromThread) => {
      const p = inFlight.get(msg.id);
      if (!p) return;
      inFlight.delete(msg.id);
      if (msg.type === 'done') p.resolve(msg.results);
      else p.reject(Object.assign(new Error(msg.message), msg.code && { code: msg.code }));
    });
    this.started++;
    const thread: Thread = { worker, exited, inFlight };
    this.thread = thread;
    this.threads.add(thread);
    return thread;
  }
}
