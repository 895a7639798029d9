import { BUSY_TIMEOUT_MS, type DB } from '@mosis/shared';
import { Worker } from 'node:worker_threads';
import { threadUrl } from './thread-url.js';

/**
 * Runs a batch of read queries inside one read transaction, so every result comes from the same snapshot
 * of telemetry.db. The rollup's heavy reads (COUNT DISTINCT over a day of raw rows) go through a worker
 * thread (snapshot-reader-thread.ts) with its own read-only connection, so they never block ingest's event
 * loop; WAL lets that connection read while the ingest writer commits.
 */
export interface SnapshotReader {
  read(queries: SnapshotQuery[]): Promise<(unknown[] | null)[]>;
  /**
   * A PASSIVE WAL checkpoint (copies committed WAL frames into the database file without blocking
   * writers). The worker runs it on its own connection, so the writer's thread never pays for it.
   */
  checkpoint(): Promise<void>;
  close(): Promise<void>;
}

export interface SnapshotQuery {
  sql: string;
  params: unknown[];
  /** Return 64-bit integers as BigInt (device ids). */
  safeIntegers?: boolean;
  /** Skip the query (result `null`) when this table does not exist in the snapshot (a dropped partition). */
  ifTable?: string;
}

/** Page cache of the thread's read-only connection: 64 MiB, enough for a day's index range and the DISTINCT sets. */
const WORKER_CACHE_KIB = 64 * 1024;

/** What the snapshot reader thread (snapshot-reader-thread.ts) is started with (workerData). */
export interface ReaderThreadInit {
  path: string;
  /** Of both its connections (BUSY_TIMEOUT_MS, as openDatabase's). */
  busyTimeoutMs: number;
  /** Page cache of the read-only connection (WORKER_CACHE_KIB). */
  cacheKib: number;
  /** See createWorkerReader. */
  pauseRatio: number;
}

export type ToReaderThread = { type: 'read'; id: number; queries: SnapshotQuery[] } | { type: 'checkpoint'; id: number };

export type FromReaderThread = { type: 'done'; id: number; results: (unknown[] | null)[] } | { type: 'failed'; id: number; error: string };

/**
 * A reader on a worker thread over the database file at `path`. With `pauseRatio` r the thread rests r
 * times as long as each read took, so it uses at most 1/(1+r) of a core (the scheduled rollup uses 1: on
 * a 2-core box ingest keeps most of the CPU; `ops` runs flat out).
 */
export function createWorkerReader(path: string, opts: { pauseRatio?: number } = {}): SnapshotReader {
  const init: ReaderThreadInit = { path, busyTimeoutMs: BUSY_TIMEOUT_MS, cacheKib: WORKER_CACHE_KIB, pauseRatio: opts.pauseRatio ?? 0 };
  const worker = new Worker(threadUrl('snapshot-reader-thread.js'), { workerData: init });
  // Idle, the worker must not keep the process alive.
  worker.unref();
  let nextId = 1;
  let failure: Error | undefined;
  const pending = new Map<number, { resolve: (r: (unknown[] | null)[]) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error) => {
    failure = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (msg: FromReaderThread) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (pending.size === 0) worker.unref();
    if (msg.type === 'failed') p.reject(new Error(`snapshot read: ${msg.error}`));
    else p.resolve(msg.results);
  });
  worker.on('error', (err) => failAll(new Error(`snapshot reader worker: ${err.message}`, { cause: err })));
  worker.on('exit', (code) => failAll(new Error(`snapshot reader worker exited (code ${code})`)));
  const send = (msg: ToReaderThread): Promise<(unknown[] | null)[]> => {
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      pending.set(msg.id, { resolve, reject });
      worker.ref();
      worker.postMessage(msg);
    });
  };
  return {
    read: (queries) => send({ type: 'read', id: nextId++, queries }),
    checkpoint: async () => void (await send({ type: 'checkpoint', id: nextId++ })),
    async close() {
      await worker.terminate();
    },
  };
}

/** A worker reader that starts its thread on first use, and can end it until the next. */
export interface LazyWorkerReader extends SnapshotReader {
  /** True while the thread runs. */
  readonly started: boolean;
  /**
   * Ends the thread, with its heap and its page cache (tens of MiB after a rollup over a day of rows); the
   * next read starts a new one. Only between reads: a read in flight would fail.
   */
  release(): Promise<void>;
}

/** `createWorkerReader(path, opts)`, started when first read and ended by `release()`. */
export function createLazyWorkerReader(path: string, opts: { pauseRatio?: number } = {}): LazyWorkerReader {
  let reader: SnapshotReader | undefined;
  let closed = false;
  const get = () => {
    if (closed) throw new Error('snapshot reader closed');
    return (reader ??= createWorkerReader(path, opts));
  };
  const release = async () => {
    const running = reader;
    reader = undefined;
    await running?.close();
  };
  return {
    get started() {
      return reader !== undefined;
    },
    read: async (queries) => get().read(queries),
    checkpoint: async () => get().checkpoint(),
    release,
    async close() {
      closed = true;
      await release();
    },
  };
}

/**
 * A reader on an existing connection, on the calling thread. For the ops commands and tests, where
 * blocking the event loop does not matter.
 */
export function createInlineReader(db: DB): SnapshotReader {
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck();
  const readAll = db.transaction((queries: SnapshotQuery[]) =>
    queries.map((q) => {
      if (q.ifTable && !hasTable.get(q.ifTable)) return null;
      const st = db.prepare(q.sql);
      if (q.safeIntegers) st.safeIntegers(true);
      return st.all(...q.params) as unknown[];
    }),
  );
  return {
    async read(queries) {
      return readAll.deferred(queries);
    },
    async checkpoint() {
      if (!db.readonly) db.pragma('wal_checkpoint(PASSIVE)');
    },
    async close() {},
  };
}
