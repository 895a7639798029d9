/**
 * Bytes of request bodies being read and parsed right now, bounded: with the write queue's own bound this
 * keeps memory bounded however many clients send at once. A request reserves its body as it arrives, chunk
 * by chunk (a gzip body also each chunk it inflates to, before keeping it), and releases it all once its
 * rows are built or it is answered. A stalled upload so holds only what it sent, never the route's limit.
 */
export class BodyBudget {
  private used = 0;
  private highest = 0;
  private watchers: Array<{ test: (b: BodyBudget) => boolean; resolve: () => void }> = [];

  constructor(private readonly maxBytes: number) {}

  /** Bytes reserved now (for metrics and tests). */
  get inUse(): number {
    return this.used;
  }

  /** The most bytes reserved at once since start (for metrics and tests). */
  get peak(): number {
    return this.highest;
  }

  /** True when nothing more fits: a new request is refused before its body is read. */
  get exhausted(): boolean {
    return this.used >= this.maxBytes;
  }

  /**
   * Reserves `bytes` more for a request that holds `held` already; false (and nothing reserved) when that
   * would pass the bound. A request alone may always grow, so a bound below a route's limit cannot starve it.
   */
  tryGrow(held: number, bytes: number): boolean {
    if (this.used > held && this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    if (this.used > this.highest) this.highest = this.used;
    if (this.watchers.length) this.changed();
    return true;
  }

  release(bytes: number): void {
    this.used -= bytes;
    if (this.watchers.length) this.changed();
  }

  /** Resolves once `test` holds, checked now and after every change (for tests: no waiting on time). */
  when(test: (b: BodyBudget) => boolean): Promise<void> {
    if (test(this)) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push({ test, resolve }));
  }

  private changed(): void {
    const waiting = this.watchers;
    this.watchers = [];
    for (const w of waiting) {
      if (w.test(this)) w.resolve();
      else this.watchers.push(w);
    }
  }
}
