/**
 * The snapshot reader thread (started by snapshot-reader.ts): a read-only connection to telemetry.db that runs
 * each batch of queries inside one read transaction, so the rollup's heavy reads never block ingest's event
 * loop. Requests are handled one at a time; after each, the thread idles pauseRatio times as long as it worked.
 *
 * It loads the driver alone (snapshot-reader.js only for its types), not openDatabase: @mosis/shared has one
 * entry point, and loading it costs a thread about 27 MiB of heap (measured). The pragmas it needs come in
 * ReaderThreadInit.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { FromReaderThread, ReaderThreadInit, SnapshotQuery, ToReaderThread } from './snapshot-reader.js';

/** Prepared statements kept at most; the cache starts over beyond. */
const MAX_STATEMENTS = 256;

const init = workerData as ReaderThreadInit;
const port = parentPort!;
const db = new Database(init.path, { readonly: true, fileMustExist: true });
db.pragma(`busy_timeout = ${init.busyTimeoutMs}`);
db.pragma(`cache_size = -${init.cacheKib}`);
db.pragma('temp_store = MEMORY');
const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck();
// The rollup sends the same few queries thousands of times: each is prepared once (and forgotten if it fails).
const statements = new Map<string, Database.Statement>();
const statementKey = (q: SnapshotQuery) => (q.safeIntegers ? '1' : '0') + q.sql;
/** Opened by the first checkpoint. */
let writer: Database.Database | undefined;

const queue: ToReaderThread[] = [];
let busy = false;
port.on('message', (msg: ToReaderThread) => {
  queue.push(msg);
  if (!busy) next();
});

function next(): void {
  const msg = queue.shift();
  if (!msg) {
    busy = false;
    return;
  }
  busy = true;
  const t0 = performance.now();
  port.postMessage(handle(msg));
  const pause = (performance.now() - t0) * init.pauseRatio;
  if (pause >= 1) setTimeout(next, pause);
  else setImmediate(next);
}

function handle(msg: ToReaderThread): FromReaderThread {
  try {
    if (msg.type === 'checkpoint') {
      // Checkpointing writes the database file: a read-write connection used for nothing else.
      if (!writer) {
        writer = new Database(init.path, { fileMustExist: true });
        writer.pragma(`busy_timeout = ${init.busyTimeoutMs}`);
      }
      writer.pragma('wal_checkpoint(PASSIVE)');
      return { type: 'done', id: msg.id, results: [] };
    }
    db.exec('BEGIN');
    try {
      return { type: 'done', id: msg.id, results: msg.queries.map(run) };
    } finally {
      db.exec('COMMIT');
    }
  } catch (err) {
    return { type: 'failed', id: msg.id, error: String((err as { message?: unknown } | null)?.message || err) };
  }
}

function run(q: SnapshotQuery): unknown[] | null {
  if (q.ifTable && !hasTable.get(q.ifTable)) return null;
  try {
    return prepared(q).all(...q.params);
  } catch (err) {
    statements.delete(statementKey(q));
    throw err;
  }
}

function prepared(q: SnapshotQuery): Database.Statement {
  const key = statementKey(q);
  let st = statements.get(key);
  if (!st) {
    if (statements.size >= MAX_STATEMENTS) statements.clear();
    st = db.prepare(q.sql);
    if (q.safeIntegers) st.safeIntegers(true);
    statements.set(key, st);
  }
  return st;
}
