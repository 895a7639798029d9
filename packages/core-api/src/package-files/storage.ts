import type { Logger, Metrics } from '@mosis/shared';
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { Counter } from 'prom-client';
import { copyOnce, fsyncFile, newTempPath, renameIntoPlaceSync, sizeOf, sweepTemp } from './durable.js';
import { packagePath, packagesRoot } from './layout.js';
import { receiveToTemp, type Received } from './receive.js';

/** How an upload ended, for metrics and for tests that wait on it. */
export type UploadOutcome = 'stored' | 'too_large' | 'incomplete' | 'signature_mismatch' | 'rejected' | 'failed';

export interface PackageStorageOptions {
  /** DATA_DIR: files go to DATA_DIR/packages. */
  dataDir: string;
  /** BACKUP_DIR: copies go to BACKUP_DIR/packages. */
  backupDir: string;
  maxBytes: number;
  log: Logger;
  metrics?: Metrics;
}

/**
 * The package files on disk (layout.ts), content-addressed. Locking: every change to the set of files
 * (an upload renamed into place, the collector's unlink) runs synchronously inside a portal.db write
 * transaction that also changes the file's row in `packages`, so the two serialize on portal.db's write lock
 * and each sees the other's outcome: an upload of bytes the collector is removing either finds the row
 * (and renames its own copy in if the file is gone) or runs after the removal committed.
 */
export class PackageStorage {
  readonly root: string;
  readonly backupRoot: string;
  readonly maxBytes: number;
  /** Emits `receiving` (temp path) when an upload starts streaming, `upload` (UploadOutcome) when it ends, however it ends. */
  readonly events = new EventEmitter();
  private readonly log: Logger;
  private readonly uploads?: Counter<'outcome'>;
  private readonly backupFailures?: Counter;

  constructor(opts: PackageStorageOptions) {
    this.root = packagesRoot(opts.dataDir);
    this.backupRoot = packagesRoot(opts.backupDir);
    this.maxBytes = opts.maxBytes;
    this.log = opts.log;
    if (opts.metrics) {
      const registers = [opts.metrics.registry];
      this.uploads = new Counter({ name: 'core_package_uploads_total', help: 'Package uploads, by how they ended', labelNames: ['outcome'] as const, registers });
      this.backupFailures = new Counter({ name: 'core_package_backup_failures_total', help: 'Package copies to BACKUP_DIR/packages that failed (retried by the collector)', registers });
    }
  }

  /** Path of a stored package file. */
  path(sha256: string): string {
    return packagePath(this.root, sha256);
  }

  /** Streams an upload to a temp file (see receiveToTemp). */
  async receive(body: ReadableStream<Uint8Array> | null, opts: { declaredBytes?: number; signal?: AbortSignal }): Promise<Received> {
    const tempPath = await newTempPath(this.root);
    const received = receiveToTemp(body, { ...opts, tempPath, maxBytes: this.maxBytes });
    this.events.emit('receiving', tempPath);
    return received;
  }

  /** Flushes a received upload to disk; before it may be placed. */
  sync(received: Received): Promise<void> {
    return fsyncFile(received.tempPath);
  }

  /**
   * Puts a received (and synced) upload at its content address, inside the caller's portal.db write
   * transaction: renamed in if no file of that size is there (`new`), else dropped (`existing`: the same bytes).
   */
  placeSync(received: Received): 'new' | 'existing' {
    if (sizeOf(this.path(received.sha256)) === received.size) {
      rmSync(received.tempPath, { force: true });
      return 'existing';
    }
    renameIntoPlaceSync(received.tempPath, this.root, received.sha256);
    return 'new';
  }

  /** Removes a received upload's temp file if it is still there (after a failure, or after placeSync: a no-op). */
  discard(received: Received): Promise<void> {
    return rm(received.tempPath, { force: true });
  }

  /**
   * Copies a stored package to BACKUP_DIR/packages once. A failure is logged and counted, not thrown: the
   * package is stored, and the collector copies what is missing on its next run.
   */
  async backup(sha256: string): Promise<boolean> {
    try {
      await copyOnce(this.path(sha256), this.backupRoot, sha256);
      return true;
    } catch (err) {
      this.backupFailures?.inc();
      this.log.error('package backup failed', { sha256, err });
      return false;
    }
  }

  /** Opens a stored package for reading; undefined when its file is missing. */
  async open(sha256: string): Promise<FileHandle | undefined> {
    try {
      return await open(this.path(sha256), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Removes temp files a crash left behind, live and backup side; call once at start, before serving. */
  sweepTemp(): number {
    return sweepTemp(this.root) + sweepTemp(this.backupRoot);
  }

  /** Records how an upload ended. */
  settled(outcome: UploadOutcome): void {
    this.uploads?.inc({ outcome });
    this.events.emit('upload', outcome);
  }
}
