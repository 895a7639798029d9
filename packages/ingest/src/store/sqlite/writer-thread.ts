/**
 * The writer thread (started by writer.ts): owns telemetry.db's write connection and runs the store's group
 * commits, so the SQLite work (inserts, index updates, the commit's fsync, waits for a checkpoint's lock) no
 * longer stops the event loop that reads and parses requests. One message at a time, in order.
 */
// The database module alone: the package's index would load the HTTP, metrics and config modules into this
// thread's heap (about 27 MiB, measured) for nothing.
import { BUSY_TIMEOUT_MS, openDatabase } from '@mosis/shared/db';
import { WRITER_BUSY_RETRY_MS } from '../../limits.js';
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteTelemetryStore } from './store.js';
import type { WriteRequest } from '../types.js';
import { decodeBatch } from './wire.js';
import type { FromThread, ThreadInit, ToThread } from './writer.js';

const init = workerData as ThreadInit;
const port = parentPort!;
const db = openDatabase(init.path, { litestream: init.litestream });
db.pragma(`cache_size = -${init.cacheMiB * 1024}`);
if (init.walAutocheckpointPages !== undefined) db.pragma(`wal_autocheckpoint = ${init.walAutocheckpointPages}`);
// The write lock is waited for in begin() below, not in SQLite's busy handler (see there).
db.pragma('busy_timeout = 0');
const beginImmediate = db.prepare('BEGIN IMMEDIATE');
const commit = db.prepare('COMMIT');
const rollback = db.prepare('ROLLBACK');
const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** `received_at` of the commit being written: the main thread's clock, read once per flush. */
let receivedAt = 0;
const store = new SqliteTelemetryStore(db, { maxEventTypesPerApp: init.maxEventTypesPerApp, now: () => receivedAt });

port.on('message', (msg: ToThread) => {
  switch (msg.type) {
    case 'write': {
      receivedAt = msg.receivedAt;
      if (init.gate) while (Atomics.load(init.gate, 0) === 0) Atomics.wait(init.gate, 0, 0);
      let reply: FromThread;
      try {
        reply = { type: 'done', id: msg.id, results: writeCommitted(decodeBatch(msg.batch)) };
      } catch (err) {
        const e = err as { message?: string; code?: string };
        reply = { type: 'failed', id: msg.id, message: String(e.message ?? err), ...(typeof e.code === 'string' && { code: e.code }) };
      }
      port.postMessage(reply);
      break;
    }
    case 'invalidate':
      store.invalidate();
      break;
    case 'autocheckpoint':
      db.pragma(`wal_autocheckpoint = ${msg.pages}`);
      break;
    case 'close':
      db.close();
      port.close();
      break;
  }
});

/** One group commit: the store's write runs inside our transaction (as a savepoint), committed here. */
function writeCommitted(requests: WriteRequest[]) {
  begin();
  try {
    const results = store.write(requests);
    commit.run();
    return results;
  } catch (err) {
    if (db.inTransaction) rollback.run();
    throw err;
  }
}

/**
 * Takes the write lock, waiting at most BUSY_TIMEOUT_MS while someone else holds it (Litestream's RESTART
 * checkpoint, a job on the main thread's connection). SQLite's busy handler sleeps in growing steps of up to
 * 100 ms, so it wakes up to that long after the lock is free; retrying every WRITER_BUSY_RETRY_MS wakes within it.
 */
function begin(): void {
  const deadline = performance.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      beginImmediate.run();
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || performance.now() >= deadline) throw err;
      Atomics.wait(sleeper, 0, 0, WRITER_BUSY_RETRY_MS);
    }
  }
}
