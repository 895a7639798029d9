import { openDatabase, type DB, type Logger } from '@mosis/shared';
import { existsSync } from 'node:fs';

/** What ingest needs to know about an app: its portal id and whether it may send telemetry. */
export interface AppInfo {
  /** The portal's apps.id. */
  id: string;
  packageId: string;
  suspended: boolean;
}

/** Looks up apps by package_id without a query per event. */
export interface AppLookup {
  get(packageId: string): AppInfo | undefined;
}

/**
 * An in-memory copy of portal.db's apps (package_id, id, status), read-only. Every `refreshMs` it asks
 * SQLite whether portal.db changed (`PRAGMA data_version`, no table read) and reloads the apps only then,
 * so new and suspended apps are noticed within about `refreshMs` at nearly no cost. portal.db may not exist
 * yet (the core API creates it): until it appears every app is unknown.
 */
export class PortalAppCache implements AppLookup {
  private apps = new Map<string, AppInfo>();
  private db: DB | undefined;
  private dataVersion = -1;
  private timer: NodeJS.Timeout | undefined;
  private lastError = '';

  constructor(
    private readonly portalPath: string,
    private readonly log: Logger,
  ) {}

  get(packageId: string): AppInfo | undefined {
    return this.apps.get(packageId);
  }

  /** Number of apps known (for metrics and tests). */
  get size(): number {
    return this.apps.size;
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
    this.db?.close();
    this.db = undefined;
  }

  /** Reloads the apps if portal.db changed since the last load. Never throws: a failure keeps the old copy. */
  refresh(): void {
    try {
      if (!this.db) {
        if (!existsSync(this.portalPath)) return;
        this.db = openDatabase(this.portalPath, { readonly: true });
        this.dataVersion = -1;
      }
      const version = this.db.pragma('data_version', { simple: true }) as number;
      if (version === this.dataVersion) return;
      const rows = this.db.prepare('SELECT id, package_id, status FROM apps').all() as {
        id: string;
        package_id: string;
        status: string;
      }[];
      const next = new Map<string, AppInfo>();
      for (const r of rows) next.set(r.package_id, { id: r.id, packageId: r.package_id, suspended: r.status === 'suspended' });
      this.apps = next;
      this.dataVersion = version;
      this.lastError = '';
    } catch (err) {
      // The apps table may not exist yet (core API still migrating), or the file was replaced: retry later.
      const message = (err as Error).message;
      if (message !== this.lastError) this.log.warn('app cache refresh failed', { err: message });
      this.lastError = message;
      this.db?.close();
      this.db = undefined;
    }
  }
}
