import type { DB } from '@mosis/shared';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Runs a batch of read queries inside one read transaction, so every result comes from the same snapshot
 * of telemetry.db. The rollup's heavy reads (COUNT DISTINCT over a day of raw rows) go through a worker
 * thread with its own read-only connection, so they never block ingest's event loop; WAL lets that
 * connection read while the ingest writer commits.
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

/** Read-only connection pragmas of the worker; mirrors openDatabase (the worker cannot import it as source). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
db.pragma('cache_size = -' + workerData.cacheKib);
db.pragma('temp_store = MEMORY');
const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck();
// The rollup sends the same few queries thousands of times: each is prepared once (and forgotten if it fails).
const statements = new Map();
function prepared(q) {
  const key = (q.safeIntegers ? '1' : '0') + q.sql;
  let st = statements.get(key);
  if (!st) {
    if (statements.size >= 256) statements.clear();
    st = db.prepare(q.sql);
    if (q.safeIntegers) st.safeIntegers(true);
    statements.set(key, st);
  }
  return st;
}
// Requests are handled one at a time; after each, the thread idles pauseRatio times as long as it worked.
const queue = [];
let busy = false;
parentPort.on('message', (msg) => {
  queue.push(msg);
  if (!busy) next();
});
function next() {
  const msg = queue.shift();
  if (!msg) {
    busy = false;
    return;
  }
  busy = true;
  const t0 = performance.now();
  handle(msg);
  const pause = (performance.now() - t0) * workerData.pauseRatio;
  if (pause >= 1) setTimeout(next, pause);
  else setImmediate(next);
}
let writer;
function handle({ id, queries, checkpoint }) {
  let results;
  try {
    if (checkpoint) {
      // Checkpointing writes the database file: a read-write connection used for nothing else.
      if (!writer) {
        writer = new Database(workerData.path, { fileMustExist: true });
        writer.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
      }
      writer.pragma('wal_checkpoint(PASSIVE)');
      parentPort.postMessage({ id, results: [] });
      return;
    }
    db.exec('BEGIN');
    try {
      results = queries.map((q) => {
        if (q.ifTable && !hasTable.get(q.ifTable)) return null;
        try {
          return prepared(q).all(...q.params);
        } catch (err) {
          statements.delete((q.safeIntegers ? '1' : '0') + q.sql);
          throw err;
        }
      });
    } finally {
      db.exec('COMMIT');
    }
  } catch (err) {
    parentPort.postMessage({ id, error: String((err && err.message) || err) });
    return;
  }
  parentPort.postMessage({ id, results });
}
`;

/** Busy timeout of the worker's connection (as openDatabase's). */
const WORKER_BUSY_TIMEOUT_MS = 5_000;
/** Page cache of the worker's connection: 64 MiB, enough for a day's index range and the DISTINCT sets. */
const WORKER_CACHE_KIB = 64 * 1024;

/**
 * A reader on a worker thread over the database file at `path`. With `pauseRatio` r the thread rests r
 * times as long as each read took, so it uses at most 1/(1+r) of a core (the scheduled rollup uses 1: on
 * a 2-core box ingest keeps most of the CPU; `ops` runs flat out).
 */
export function createWorkerReader(path: string, opts: { pauseRatio?: number } = {}): SnapshotReader {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { path, driver, busyTimeoutMs: WORKER_BUSY_TIMEOUT_MS, cacheKib: WORKER_CACHE_KIB, pauseRatio: opts.pauseRatio ?? 0 },
  });
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
  worker.on('message', (msg: { id: number; results?: (unknown[] | null)[]; error?: string }) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (pending.size === 0) worker.unref();
    if (msg.error !== undefined) p.reject(new Error(`snapshot read: ${msg.error}`));
    else p.resolve(msg.results!);
  });
  worker.on('error', (err) => failAll(new Error(`snapshot reader worker: ${err.message}`, { cause: err })));
  worker.on('exit', (code) => failAll(new Error(`snapshot reader worker exited (code ${code})`)));
  const send = (msg: { queries?: SnapshotQuery[]; checkpoint?: true }): Promise<(unknown[] | null)[]> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, ...msg });
    });
  };
  return {
    read: (queries) => send({ queries }),
    checkpoint: async () => void (await send({ checkpoint: true })),
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
