/**
 * The checkpointer thread (started by checkpointer.ts): one read-write connection to telemetry.db used only to
 * checkpoint its WAL. It decides nothing: it runs the passes it is sent, counts them in the shared state
 * (laid out in CheckpointerThreadInit) and flags a RESTART while one runs.
 *
 * It loads the driver alone (checkpointer.js only for its types): it runs as long as ingest does, and
 * @mosis/shared would bring the HTTP and config modules into its heap. Nor would openDatabase fit: this
 * connection must not create the file (the store has opened it), and one that only checkpoints needs no
 * pragma but busy_timeout.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckpointerThreadInit, FromCheckpointerThread, ToCheckpointerThread } from './checkpointer.js';

const init = workerData as CheckpointerThreadInit;
const port = parentPort!;
const state = init.state;
const db = new Database(init.path, { fileMustExist: true });
db.pragma(`busy_timeout = ${init.busyTimeoutMs}`);
db.pragma('cache_size = -1024');

port.on('message', (msg: ToCheckpointerThread) => {
  if (msg.type === 'stop') {
    db.close();
    process.exit(0);
  }
  try {
    // PASSIVE first, for as long as it gains: a RESTART holds the writer off while it copies, so it should
    // find only the last few commits left to copy.
    let left = Infinity;
    for (let i = 0; i < (msg.prepass ? init.maxPassive : 0); i++) {
      const r = (db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[])[0]!;
      Atomics.add(state, 1, 1);
      if (r.log - r.checkpointed >= left || r.log - r.checkpointed <= init.restartTail) break;
      left = r.log - r.checkpointed;
    }
    if (msg.mode === 'RESTART') {
      Atomics.store(state, 3, 1);
      Atomics.notify(state, 3);
      try {
        db.pragma('wal_checkpoint(RESTART)');
      } finally {
        Atomics.store(state, 3, 0);
        Atomics.notify(state, 3);
      }
      Atomics.add(state, 2, 1);
    }
  } catch (err) {
    const reply: FromCheckpointerThread = { type: 'failed', mode: msg.mode, error: String((err as { message?: unknown } | null)?.message || err) };
    port.postMessage(reply);
  }
  Atomics.store(state, 0, 0);
});

/** A row of `PRAGMA wal_checkpoint`: WAL frames in all, and those copied into the database file. */
interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}
