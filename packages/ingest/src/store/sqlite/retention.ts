import type { DB, Logger } from '@mosis/shared';
import { statSync } from 'node:fs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { dropPartition, listPartitions } from './partitions.js';
import { partitionName, type PartitionKind } from '../partitions.js';
import { reusesIds, rollupPosition } from './aggregates.js';
import { addDays, DAY_MS, dayStartMs, lastDayOfMonth } from '../../days.js';
import { runNow, type WriteGate } from './pipeline.js';
import { rollup, rowsWaiting } from './rollup.js';
import type { SnapshotReader } from './snapshot-reader.js';
import { retentionCutoffDay, type PruneSummary } from '../maintenance.js';

/**
 * Retention: raw events and crashes older than the retention are removed, aggregates stay.
 *  - the rollup runs first; then every delete transaction removes only rows at or below its partition's
 *    rollup position (a row folded into the aggregates), and a partition is dropped only once its
 *    position has reached its largest id, so a row is never removed before it is rolled up;
 *  - in a partition created before migration 0006 (no AUTOINCREMENT) the row with the largest id stays
 *    until the month is dropped whole: SQLite would otherwise hand that id out again, and the rollup, which
 *    has already passed it, would never fold the new row;
 *  - the retention watermark moves to the cutoff: days before it are final, and neither the rollup nor a
 *    rebuild computes them again from raw rows that are going;
 *  - month partitions entirely before the cutoff are dropped whole (a big one emptied in chunks first, as
 *    DROP TABLE of millions of rows would hold the writer for seconds); the boundary month is trimmed in
 *    chunks, one short transaction each (sized to take ~STEP_TARGET_MS), yielding to ingest between them;
 *  - freed pages go back to the filesystem with `PRAGMA incremental_vacuum` in steps (the database is
 *    created with auto_vacuum=INCREMENTAL), then a passive checkpoint shrinks the file unless Litestream
 *    owns checkpoints.
 */

/** Rows deleted by the first transaction of a trim; later ones are sized to take about STEP_TARGET_MS. */
export const TRIM_CHUNK_ROWS = 5_000;
/** Pages handed back by the first incremental_vacuum step (4 KiB pages: 512 KiB); later ones adapt too. */
export const VACUUM_STEP_PAGES = 128;
/** Writer time one retention transaction aims for: an ingest commit waits at most about this long. */
export const STEP_TARGET_MS = 20;
/**
 * A partition to drop with more rows than this is emptied in chunks first: DROP TABLE walks every page
 * of the table to free it in one transaction (measured: 84 ms for 177k rows, so seconds for a busy month).
 */
export const DRAIN_BEFORE_DROP_ROWS = 50_000;

/** WAL size above which prune asks the reader thread for a checkpoint between steps (16 MiB). */
export const CHECKPOINT_WAL_BYTES = 16 * 1024 * 1024;

/** Sizes the next chunk of a chunked write so that one takes about `targetMs`. */
class AdaptiveChunk {
  constructor(
    public size: number,
    private readonly min: number,
    private readonly max: number,
    private readonly targetMs = STEP_TARGET_MS,
  ) {}
  /** Time `fn(size)`, then scale the size toward the target (at most doubling per step). */
  measure<T>(fn: (size: number) => T): T {
    const t0 = performance.now();
    const out = fn(this.size);
    const ms = Math.max(0.1, performance.now() - t0);
    this.size = Math.round(Math.min(this.max, Math.max(this.min, this.size * Math.min(2, this.targetMs / ms))));
    return out;
  }
}

export interface PruneOptions {
  db: DB;
  reader: SnapshotReader;
  retentionDays: number;
  now?: () => number;
  /** Report what would go, change nothing. */
  dryRun?: boolean;
  /** Litestream owns checkpoints: do not checkpoint after vacuuming. */
  litestream?: boolean;
  signal?: AbortSignal;
  log?: Logger;
  onStep?: () => void;
  trimChunkRows?: number;
  vacuumStepPages?: number;
  /** Partitions with more rows are emptied in chunks before DROP TABLE (default DRAIN_BEFORE_DROP_ROWS). */
  drainBeforeDropRows?: number;
  /** Runs each write transaction; ingest passes its writer's slot between group commits. */
  exclusive?: WriteGate;
}

export interface PruneResult extends PruneSummary {
  vacuumedPages: number;
  fileBytesBefore: number;
  fileBytesAfter: number;
  aborted: boolean;
}

/** Removes raw rows before the cutoff day; see the module comment for the order of steps. */
export async function prune(opts: PruneOptions): Promise<PruneResult> {
  const { db } = opts;
  const gate = opts.exclusive ?? runNow;
  const now = opts.now ?? Date.now;
  const cutoffDay = retentionCutoffDay(now(), opts.retentionDays);
  const cutoffMs = dayStartMs(cutoffDay);
  const result: PruneResult = {
    cutoffDay,
    dryRun: !!opts.dryRun,
    dropped: [],
    trimmed: [],
    rolledUpFirst: 0,
    vacuumedPages: 0,
    fileBytesBefore: fileBytes(db),
    fileBytesAfter: 0,
    aborted: false,
  };

  if (opts.dryRun) {
    result.rolledUpFirst = rowsWaiting(db).reduce((sum, p) => sum + p.waiting, 0);
    for (const p of listPartitions(db)) {
      if (lastDayOfMonth(p.month) < cutoffDay) result.dropped.push({ name: p.name, rows: await countRows(opts.reader, p.name) });
      else if (`${p.month}-01` < cutoffDay) result.trimmed.push({ name: p.name, rows: await countRows(opts.reader, p.name, cutoffMs) });
    }
    result.fileBytesAfter = result.fileBytesBefore;
    return result;
  }

  // The chunked deletes write many pages: left to SQLite, every commit crossing the auto-checkpoint size
  // would checkpoint on the writer's thread (~100 ms each, measured). Instead the reader thread checkpoints
  // between steps (PASSIVE, concurrent with commits). Under Litestream checkpoints are Litestream's anyway.
  const autocheckpoint = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  const checkpointing = !opts.litestream && autocheckpoint > 0;
  if (checkpointing) db.pragma('wal_autocheckpoint = 0');
  try {
    return await pruneSteps(opts, result, cutoffDay, cutoffMs, gate, checkpointing);
  } finally {
    if (checkpointing) db.pragma(`wal_autocheckpoint = ${autocheckpoint}`);
  }
}

async function pruneSteps(opts: PruneOptions, result: PruneResult, cutoffDay: string, cutoffMs: number, gate: WriteGate, checkpointing: boolean): Promise<PruneResult> {
  const { db } = opts;
  const step = async () => {
    opts.onStep?.();
    if (checkpointing && walBytes(db) > CHECKPOINT_WAL_BYTES) await opts.reader.checkpoint();
  };
  const rolled = await rollup({ db, reader: opts.reader, now: opts.now, signal: opts.signal, log: opts.log, onStep: opts.onStep, exclusive: gate });
  result.rolledUpFirst = rolled.rows;
  if (rolled.aborted) return { ...result, aborted: true, fileBytesAfter: fileBytes(db) };

  for (const kind of ['events', 'crashes'] as const) {
    await gate(() => db.transaction(() => {
      db.prepare(
        `INSERT INTO retention_watermark (kind, kept_from) VALUES (?, ?)
         ON CONFLICT (kind) DO UPDATE SET kept_from = max(kept_from, excluded.kept_from)`,
      ).run(kind, cutoffDay);
    }).immediate());

    for (const p of listPartitions(db, kind)) {
      if (opts.signal?.aborted) return { ...result, aborted: true, fileBytesAfter: fileBytes(db) };
      opts.onStep?.();
      if (lastDayOfMonth(p.month) < cutoffDay) {
        const rows = await countRows(opts.reader, p.name);
        if (rows > (opts.drainBeforeDropRows ?? DRAIN_BEFORE_DROP_ROWS)) await drainPartition(db, p.name, opts, gate, step);
        await gate(() => db.transaction(() => {
          assertRolledUp(db, p.name);
          dropPartition(db, p.name);
        }).immediate());
        result.dropped.push({ name: p.name, rows });
        opts.log?.info('retention dropped partition', { partition: p.name, rows });
      } else if (`${p.month}-01` < cutoffDay) {
        const rows = await trimPartition(db, kind, p.month, cutoffMs, opts, gate, step);
        result.trimmed.push({ name: p.name, rows });
      }
    }
  }

  result.vacuumedPages = await vacuumFreePages(db, opts, gate, step);
  // A passive checkpoint copies the vacuumed pages back and truncates the file; under Litestream it
  // does this itself, after shipping the WAL.
  if (!opts.litestream) await opts.reader.checkpoint();
  result.fileBytesAfter = fileBytes(db);
  return result;
}

/**
 * Deletes rows before the cutoff from one partition, app by app (every partition index starts with app_id).
 * A row not rolled up yet stays (the next prune, after the next rollup, removes it).
 */
async function trimPartition(db: DB, kind: PartitionKind, month: string, cutoffMs: number, opts: PruneOptions, gate: WriteGate, step: () => Promise<void>): Promise<number> {
  const name = partitionName(kind, month);
  const chunk = new AdaptiveChunk(opts.trimChunkRows ?? TRIM_CHUNK_ROWS, 100, opts.trimChunkRows ?? TRIM_CHUNK_ROWS);
  const apps = (db.prepare('SELECT id FROM dim_apps ORDER BY id').all() as { id: number }[]).map((a) => a.id);
  const keepLast = reusesIds(db, name);
  // The day-number condition lets an (app_id, timestamp / 86400000) index serve it, the other an (app_id, timestamp) one.
  const del = db.prepare(
    `DELETE FROM ${name} WHERE id IN (SELECT id FROM ${name} WHERE app_id = ? AND timestamp / ${DAY_MS} < ? AND timestamp < ? AND id <= ? LIMIT ?)`,
  );
  const deleteChunk = db.transaction((app: number, limit: number) => del.run(app, cutoffMs / DAY_MS, cutoffMs, deletableUpTo(db, name, keepLast), limit).changes);
  let total = 0;
  for (const app of apps) {
    for (;;) {
      if (opts.signal?.aborted) return total;
      let limit = 0;
      const n = await gate(() => chunk.measure((size) => deleteChunk.immediate(app, (limit = size))));
      total += n;
      if (n < limit) break;
      await step();
      await yieldToEventLoop();
    }
  }
  return total;
}

/** Empties a partition in rowid order, one short transaction per chunk, so that dropping it is cheap. */
async function drainPartition(db: DB, name: string, opts: PruneOptions, gate: WriteGate, step: () => Promise<void>): Promise<void> {
  const chunk = new AdaptiveChunk(opts.trimChunkRows ?? TRIM_CHUNK_ROWS, 100, 50_000);
  const keepLast = reusesIds(db, name);
  const del = db.prepare(`DELETE FROM ${name} WHERE id IN (SELECT id FROM ${name} WHERE id <= ? ORDER BY id LIMIT ?)`);
  const deleteChunk = db.transaction((limit: number) => del.run(deletableUpTo(db, name, keepLast), limit).changes);
  for (;;) {
    if (opts.signal?.aborted) return;
    let limit = 0;
    const n = await gate(() => chunk.measure((size) => deleteChunk.immediate((limit = size))));
    if (n < limit) return;
    await step();
    await yieldToEventLoop();
  }
}

/** Hands free pages back to the filesystem in small steps, yielding between them. */
async function vacuumFreePages(db: DB, opts: PruneOptions, gate: WriteGate, onStep: () => Promise<void>): Promise<number> {
  const step = new AdaptiveChunk(opts.vacuumStepPages ?? VACUUM_STEP_PAGES, 16, 8_192);
  let total = 0;
  for (;;) {
    const free = db.pragma('freelist_count', { simple: true }) as number;
    if (free === 0 || opts.signal?.aborted) return total;
    await gate(() => step.measure((pages) => db.exec(`PRAGMA incremental_vacuum(${Math.min(pages, free)})`)));
    const after = db.pragma('freelist_count', { simple: true }) as number;
    // auto_vacuum off (a database created before it was set): nothing moves, stop instead of spinning.
    if (after >= free) return total;
    total += free - after;
    await onStep();
    await yieldToEventLoop();
  }
}

/** The largest id a delete may remove now: rolled up, and not the largest of a partition that reuses ids. */
function deletableUpTo(db: DB, table: string, keepLast: boolean): number {
  const position = rollupPosition(db, table);
  if (!keepLast) return position;
  const last = (db.prepare(`SELECT max(id) FROM ${table}`).pluck().get() as number | null) ?? 0;
  return Math.min(position, last - 1);
}

/** Dropping a partition with rows never rolled up would lose them: refuse. */
function assertRolledUp(db: DB, table: string): void {
  const last = (db.prepare(`SELECT max(id) FROM ${table}`).pluck().get() as number | null) ?? 0;
  const position = rollupPosition(db, table);
  if (position < last) throw new Error(`retention: ${table} has rows not rolled up yet (stored after the rollup, up to id ${last}); retry after a rollup`);
}

/** Rows of a partition (before `beforeMs`), counted on the reader thread: a full scan of a busy month. */
async function countRows(reader: SnapshotReader, table: string, beforeMs?: number): Promise<number> {
  const sql = beforeMs === undefined ? `SELECT count(*) AS n FROM ${table}` : `SELECT count(*) AS n FROM ${table} WHERE timestamp < ?`;
  const [rows] = await reader.read([{ sql, params: beforeMs === undefined ? [] : [beforeMs], ifTable: table }]);
  return (rows?.[0] as { n: number } | undefined)?.n ?? 0;
}

function walBytes(db: DB): number {
  try {
    return statSync(`${db.name}-wal`).size;
  } catch {
    return 0;
  }
}

function fileBytes(db: DB): number {
  try {
    return statSync(db.name).size;
  } catch {
    return 0;
  }
}
