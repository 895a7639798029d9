import {
  APP_REGISTRY_PUBLISH_TIMEOUT_MS,
  APP_REGISTRY_SYNC_MS,
  APP_REGISTRY_WATCH_MS,
  type AppRecord,
  type PgAppRegistryPublisher,
} from '@mosis/ingest';
import { openDatabase, type DB, type Logger } from '@mosis/shared';

/**
 * The core API's side of "ingest away from portal.db" (TELEMETRY_DATABASE_URL): every app change is
 * published into the telemetry PostgreSQL's app_registry, which ingest processes on other machines load,
 * LISTEN to and poll (ingest's apps/registry-cache.ts).
 *
 * - The routes that create, change, suspend, reinstate, publish or delete an app call `changed(id)` after
 *   their transaction and await it before answering, so an app exists for ingest before its developer
 *   hears of it (its first event, however soon, is accepted). A publication that fails or takes longer
 *   than APP_REGISTRY_PUBLISH_TIMEOUT_MS does not fail the request: it is logged, and caught up below.
 * - Every APP_REGISTRY_WATCH_MS a second, read-only connection asks whether portal.db changed (`PRAGMA
 *   data_version`, no table read); if so the apps are compared with what was last published and the
 *   differences published: changes made by another process (`ops review suspend`) reach ingest too.
 * - At start and every APP_REGISTRY_SYNC_MS, the whole table (and apps gone since, as deleted), so
 *   nothing is lost after a failure. A failed sync is tried again at the next watch.
 */
export class AppRegistryFeed {
  private watcher: DB | undefined;
  private dataVersion = -1;
  /** What was last published per app id: `${package_id} ${status}`. */
  private published = new Map<string, string>();
  private timers: NodeJS.Timeout[] = [];
  private syncDue = true;
  private running: Promise<unknown> = Promise.resolve();
  private lastError = '';

  constructor(
    private readonly portal: DB,
    private readonly publisher: PgAppRegistryPublisher,
    private readonly log: Logger,
  ) {}

  /** Syncs once (a failure is logged and retried), then keeps watching. */
  async start(): Promise<this> {
    await this.tick();
    this.timers.push(setInterval(() => void this.tick(), APP_REGISTRY_WATCH_MS));
    this.timers.push(setInterval(() => (this.syncDue = true), APP_REGISTRY_SYNC_MS));
    for (const t of this.timers) t.unref();
    return this;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.running.catch(() => {});
    this.watcher?.close();
    await this.publisher.close();
  }

  /** Publishes one app as portal.db has it now (gone: deleted). Never throws. */
  async changed(appId: string): Promise<void> {
    const row = this.portal.prepare('SELECT id, package_id, status FROM apps WHERE id = ?').get(appId) as { id: string; package_id: string; status: string } | undefined;
    const publication = this.serial(async () => {
      if (row) {
        await this.publisher.publish([{ id: row.id, packageId: row.package_id, status: row.status }]);
        this.published.set(row.id, `${row.package_id} ${row.status}`);
      } else {
        await this.publisher.deleted([appId]);
        this.published.delete(appId);
      }
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.log.warn('app registry publication is slow; answering without it', { app_id: appId });
        resolve();
      }, APP_REGISTRY_PUBLISH_TIMEOUT_MS);
    });
    await Promise.race([publication, timeout]);
    clearTimeout(timer);
  }

  /** One watch: a full sync when due, else the differences if portal.db changed. */
  private tick(): Promise<void> {
    return this.serial(async () => {
      const full = this.syncDue;
      if (!full && !this.portalChanged()) return;
      const apps = (this.portal.prepare('SELECT id, package_id, status FROM apps').all() as { id: string; package_id: string; status: string }[]).map(
        (r): AppRecord => ({ id: r.id, packageId: r.package_id, status: r.status }),
      );
      if (full) {
        await this.publisher.syncAll(apps);
        this.syncDue = false;
      } else {
        const changed = apps.filter((a) => this.published.get(a.id) !== `${a.packageId} ${a.status}`);
        const live = new Set(apps.map((a) => a.id));
        const gone = [...this.published.keys()].filter((id) => !live.has(id));
        if (changed.length) await this.publisher.publish(changed);
        if (gone.length) await this.publisher.deleted(gone);
      }
      this.published = new Map(apps.map((a) => [a.id, `${a.packageId} ${a.status}`]));
    });
  }

  /** Whether portal.db was written (by any connection) since the last look. */
  private portalChanged(): boolean {
    this.watcher ??= openDatabase(this.portal.name, { readonly: true });
    const version = this.watcher.pragma('data_version', { simple: true }) as number;
    const changed = version !== this.dataVersion;
    this.dataVersion = version;
    return changed;
  }

  /** Runs publications one after another (each waits for the one before); a failure is logged, and the next watch syncs. */
  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.running.then(fn).then(
      () => {
        this.lastError = '';
      },
      (err: unknown) => {
        this.syncDue = true;
        const message = (err as Error).message;
        if (message !== this.lastError) this.log.warn('app registry publication failed; retrying', { err: message });
        this.lastError = message;
      },
    );
    this.running = next;
    return next;
  }
}
