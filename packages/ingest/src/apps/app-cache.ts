import { openDatabase, type DB, type Logger } from '@mosis/shared';
import type { Statement } from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { APP_MISS_MAX_ENTRIES, APP_MISS_TTL_MS } from '../limits.js';

/** What ingest needs to know about an app: its portal id and whether it may send telemetry. */
export interface AppInfo {
  /** The portal's apps.id. */
  id: string;
  packageId: string;
  suspended: boolean;
}

/** Looks up apps by package_id without a query per event. */
export interface AppLookup {
  /** The app now, from memory (synchronous: it runs per event). */
  get(packageId: string): AppInfo | undefined;
  /**
   * Called once per request, before its items are validated, with the package ids they name: a lookup whose
   * misses need an asynchronous read (RegistryAppCache) does that read here, one for the whole request.
   */
  prepare?(packageIds: ReadonlySet<string>): Promise<void>;
  /** Number of apps known (metrics). */
  readonly size?: number;
  /** Times misses were looked up in the source (metrics). */
  readonly portalLookups?: number;
  stop(): void | Promise<void>;
}

interface AppRow {
  id: string;
  package_id: string;
  status: string;
}

/**
 * An in-memory copy of portal.db's apps (package_id, id, status), read-only. Every `refreshMs` it asks
 * SQLite whether portal.db changed (`PRAGMA data_version`, no table read) and reloads the apps only then,
 * so suspensions and renames are noticed within about `refreshMs` at nearly no cost.
 *
 * A package_id the copy lacks may belong to an app created a moment ago: portal.db is asked at once (if it
 * changed since the copy was loaded, one indexed read by package_id), so its first events are accepted.
 * The answer "unknown" is then remembered for APP_MISS_TTL_MS (at most APP_MISS_MAX_ENTRIES of them), so a
 * flood of events for unknown apps costs no portal.db access per event.
 *
 * portal.db may not exist yet (the core API creates it): until it appears every app is unknown.
 */
export class PortalAppCache implements AppLookup {
  private apps = new Map<string, AppInfo>();
  /** Unknown package_ids and until when (ms) that answer holds; insertion order is age order. */
  private misses = new Map<string, number>();
  private db: DB | undefined;
  private byPackage: Statement | undefined;
  /** data_version of portal.db when `apps` was loaded. */
  private dataVersion = -1;
  private timer: NodeJS.Timeout | undefined;
  private lastError = '';
  private lookups = 0;

  constructor(
    private readonly portalPath: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get(packageId: string): AppInfo | undefined {
    return this.apps.get(packageId) ?? this.miss(packageId);
  }

  /** Number of apps known (for metrics and tests). */
  get size(): number {
    return this.apps.size;
  }

  /** Times a package_id missing from the copy was looked up in portal.db (for metrics and tests). */
  get portalLookups(): number {
    return this.lookups;
  }

  /** Loads now, then keeps checking every `refreshMs`. */
  start(refreshMs: number): this {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), refreshMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.close();
  }

  /** Reloads the apps if portal.db changed since the last load. Never throws: a failure keeps the old copy. */
  refresh(): void {
    try {
      if (!this.open()) return;
      const version = this.db!.pragma('data_version', { simple: true }) as number;
      if (version === this.dataVersion) return;
      const rows = this.db!.prepare('SELECT id, package_id, status FROM apps').all() as AppRow[];
      const next = new Map<string, AppInfo>();
      for (const r of rows) next.set(r.package_id, info(r));
      this.apps = next;
      this.misses.clear();
      this.dataVersion = version;
      this.lastError = '';
    } catch (err) {
      this.failed(err);
    }
  }

  /** A package_id missing from the copy: remembered as unknown, or looked up in portal.db now. */
  private miss(packageId: string): AppInfo | undefined {
    const now = this.now();
    const until = this.misses.get(packageId);
    if (until !== undefined && until > now) return undefined;
    this.lookups++;
    try {
      if (this.open()) {
        // Unchanged since the copy was loaded: the copy is complete, no need to read the table.
        const version = this.db!.pragma('data_version', { simple: true }) as number;
        if (version !== this.dataVersion) {
          this.byPackage ??= this.db!.prepare('SELECT id, package_id, status FROM apps WHERE package_id = ?');
          const row = this.byPackage.get(packageId) as AppRow | undefined;
          // Kept in the copy until the next reload (which reads it again with everything else).
          if (row) {
            const app = info(row);
            this.apps.set(packageId, app);
            return app;
          }
        }
      }
    } catch (err) {
      this.failed(err);
    }
    this.misses.delete(packageId);
    if (this.misses.size >= APP_MISS_MAX_ENTRIES) this.misses.delete(this.misses.keys().next().value!);
    this.misses.set(packageId, now + APP_MISS_TTL_MS);
    return undefined;
  }

  /** Opens portal.db read-only once it exists; false until then. */
  private open(): boolean {
    if (this.db) return true;
    if (!existsSync(this.portalPath)) return false;
    this.db = openDatabase(this.portalPath, { readonly: true });
    this.dataVersion = -1;
    return true;
  }

  private failed(err: unknown): void {
    // The apps table may not exist yet (core API still migrating), or the file was replaced: retry later.
    const message = (err as Error).message;
    if (message !== this.lastError) this.log.warn('app cache refresh failed', { err: message });
    this.lastError = message;
    this.close();
  }

  private close(): void {
    this.db?.close();
    this.db = undefined;
    this.byPackage = undefined;
  }
}

function info(r: AppRow): AppInfo {
  return { id: r.id, packageId: r.package_id, suspended: r.status === 'suspended' };
}
