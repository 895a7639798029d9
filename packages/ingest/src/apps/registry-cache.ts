import type { Logger } from '@mosis/shared';
import { APP_MISS_MAX_ENTRIES, APP_MISS_TTL_MS, APP_REGISTRY_POLL_MS } from '../limits.js';
import type { AppInfo, AppLookup } from './app-cache.js';
import type { AppRecord, AppSource } from './app-source.js';

/**
 * The apps of an ingest process that has no portal.db: an in-memory copy of what the core API publishes
 * (AppSource), kept current three ways, none a query per event:
 *
 * - at start, everything (`start()` resolves once loaded and listening);
 * - on each notification (LISTEN), the changes after the last version applied, so a new app, a
 *   suspension or a deletion takes effect within a second;
 * - every APP_REGISTRY_POLL_MS the same question, in case a notification was lost.
 *
 * A package id not in the copy may be an app created a moment ago, before its notification arrived: the
 * request's misses are read at once in one indexed query (`prepare`, before validation), and "unknown"
 * is then remembered for APP_MISS_TTL_MS (at most APP_MISS_MAX_ENTRIES), so a flood of events for
 * unknown apps costs one read per package id and second, not one per event. The core API publishes a new
 * app before it answers its creation, so the app's first event, however soon, is accepted.
 */
export class RegistryAppCache implements AppLookup {
  private apps = new Map<string, AppInfo>();
  private version = 0n;
  private misses = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => Promise<void>) | undefined;
  /** One catch-up at a time; a notification during one asks for another after it. */
  private catching: Promise<void> | undefined;
  private again = false;
  private lastError = '';
  private lookups = 0;
  private stopped = false;

  constructor(
    private readonly source: AppSource,
    private readonly log: Logger,
    private readonly opts: { pollMs?: number; now?: () => number } = {},
  ) {}

  get(packageId: string): AppInfo | undefined {
    return this.apps.get(packageId);
  }

  get size(): number {
    return this.apps.size;
  }

  get portalLookups(): number {
    return this.lookups;
  }

  /** Loads everything and listens; then polls. A source that cannot be reached yet is retried by the poll. */
  async start(): Promise<this> {
    try {
      this.unwatch = await this.source.watch(() => void this.catchUp());
      this.apply(await this.source.loadAll(), true);
    } catch (err) {
      this.failed(err);
    }
    this.timer = setInterval(() => void this.catchUp(), this.opts.pollMs ?? APP_REGISTRY_POLL_MS);
    this.timer.unref();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.catching;
    await this.unwatch?.().catch(() => {});
    await this.source.close().catch(() => {});
  }

  /** Applies what was published since the last version; never throws (a failure keeps the copy). */
  catchUp(): Promise<void> {
    if (this.catching) {
      this.again = true;
      return this.catching;
    }
    this.catching = (async () => {
      do {
        this.again = false;
        if (this.stopped) return;
        try {
          // Nothing loaded yet (the source was down at start): load everything.
          this.apply(this.version === 0n ? await this.source.loadAll() : await this.source.changesSince(this.version), this.version === 0n);
        } catch (err) {
          this.failed(err);
        }
      } while (this.again);
    })().finally(() => (this.catching = undefined));
    return this.catching;
  }

  async prepare(packageIds: ReadonlySet<string>): Promise<void> {
    const now = (this.opts.now ?? Date.now)();
    const wanted = [...packageIds].filter((p) => !this.apps.has(p) && !((this.misses.get(p) ?? 0) > now));
    if (!wanted.length) return;
    this.lookups++;
    let found: AppRecord[] = [];
    try {
      found = await this.source.lookup(wanted);
    } catch (err) {
      this.failed(err);
    }
    // Deleted rows first, so a live app of the same package id (created again) wins.
    for (const r of found.sort((a, b) => Number(a.status !== 'deleted') - Number(b.status !== 'deleted'))) this.set(r);
    for (const p of wanted) {
      if (this.apps.has(p)) continue;
      this.misses.delete(p);
      if (this.misses.size >= APP_MISS_MAX_ENTRIES) this.misses.delete(this.misses.keys().next().value!);
      this.misses.set(p, now + APP_MISS_TTL_MS);
    }
  }

  private apply(changes: { apps: AppRecord[]; version: bigint }, full: boolean): void {
    if (full) this.apps = new Map();
    for (const r of changes.apps) this.set(r);
    if (changes.version > this.version) this.version = changes.version;
    // Something changed: an unknown package id may be known now.
    if (changes.apps.length) this.misses.clear();
    this.lastError = '';
  }

  private set(r: AppRecord): void {
    if (r.status === 'deleted') {
      // Only that app: its package id may already belong to the app created again with it.
      if (this.apps.get(r.packageId)?.id === r.id) this.apps.delete(r.packageId);
      return;
    }
    this.apps.set(r.packageId, { id: r.id, packageId: r.packageId, suspended: r.status === 'suspended' });
  }

  private failed(err: unknown): void {
    const message = (err as Error).message;
    if (message !== this.lastError) this.log.warn('app registry read failed', { err: message });
    this.lastError = message;
  }
}
