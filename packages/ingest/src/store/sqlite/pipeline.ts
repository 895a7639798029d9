import type { SnapshotQuery, SnapshotReader } from './snapshot-reader.js';

/**
 * How the rollup's jobs move work between the reader thread and the writer: each task is a snapshot read
 * (queries run together in one read transaction on the reader thread) and a write that applies its result
 * on the writer's connection. Reads run ahead while writes wait for the writer's slot; writes run in task
 * order, several per slot while they fit in WRITE_SLOT_BUDGET_MS, in one transaction: a slot's tasks
 * commit together or not at all, and the pages they share are written to the WAL once.
 */

/** Runs a synchronous write transaction when the connection's writer allows it. */
export type WriteGate = <T>(fn: () => T) => Promise<T>;

/** No gate: run the write at once (ops commands, tests). */
export const runNow: WriteGate = async (fn) => fn();

/** Snapshot reads queued ahead on the reader thread, so it reads the next tasks while writes wait their turn. */
export const PREFETCH_TASKS = 16;
/**
 * A slot waits for this many ready snapshots (or the last ones): each slot costs ingest a turn of its
 * writer, and its caches (the writer reloads them after every exclusive job), so fewer, fuller slots.
 */
export const WRITE_MIN_TASKS = 8;
/** Tasks whose snapshots are ready are written in one writer slot, up to... */
export const WRITE_BATCH_TASKS = 32;
/** ...this much writer time per slot: ingest's next group commit waits at most about this long. */
export const WRITE_SLOT_BUDGET_MS = 10;

export interface PipelineTask {
  queries: SnapshotQuery[];
  /** Applies the snapshot inside the slot's write transaction (throws to fail the run: nothing of the slot is written). */
  apply(snapshot: (unknown[] | null)[]): void;
}

export interface PipelineOptions {
  reader: SnapshotReader;
  gate: WriteGate;
  /** Runs a slot's writes as one write transaction (`db.transaction(fn).immediate()`). */
  transaction: <T>(fn: () => T) => T;
  signal?: AbortSignal;
  /** Called between slots (renews the maintenance lease). */
  onStep?: () => void;
  /** Called after each slot's commit, before the next slot's writes (may write itself). */
  afterSlot?: () => Promise<void>;
}

interface Pending {
  task: PipelineTask;
  done: boolean;
  snapshot?: (unknown[] | null)[];
  error?: unknown;
  promise: Promise<void>;
}

/** Runs `tasks` in order; stops between slots when `signal` aborts. Returns how many were applied. */
export async function runPipeline(opts: PipelineOptions, tasks: readonly PipelineTask[]): Promise<{ applied: number; aborted: boolean }> {
  const queue: Pending[] = [];
  let next = 0;
  let applied = 0;
  const fill = () => {
    while (queue.length < PREFETCH_TASKS && next < tasks.length && !opts.signal?.aborted) {
      const p: Pending = { task: tasks[next++]!, done: false, promise: Promise.resolve() };
      p.promise = opts.reader.read(p.task.queries).then(
        (snapshot) => void Object.assign(p, { snapshot, done: true }),
        (error: unknown) => void Object.assign(p, { error, done: true }),
      );
      queue.push(p);
    }
  };
  try {
    for (fill(); queue.length; fill()) {
      await queue[Math.min(queue.length, WRITE_MIN_TASKS) - 1]!.promise;
      opts.onStep?.();
      const ready: Pending[] = [];
      while (ready.length < WRITE_BATCH_TASKS && queue[0]?.done) ready.push(queue.shift()!);
      const failed = ready.find((p) => p.error !== undefined);
      if (failed) throw failed.error;
      const done = await opts.gate(() =>
        opts.transaction(() => {
          const start = performance.now();
          let n = 0;
          // Over budget: the rest wait for the next slot.
          while (n < ready.length && (n === 0 || performance.now() - start <= WRITE_SLOT_BUDGET_MS)) {
            const p = ready[n++]!;
            p.task.apply(p.snapshot!);
          }
          return n;
        }),
      );
      applied += done;
      queue.unshift(...ready.slice(done));
      await opts.afterSlot?.();
      if (opts.signal?.aborted) break;
    }
  } finally {
    // Reads still in flight (abort, error) settle before the reader may be closed; their results are dropped.
    await Promise.all(queue.map((p) => p.promise));
  }
  return { applied, aborted: applied < tasks.length };
}
