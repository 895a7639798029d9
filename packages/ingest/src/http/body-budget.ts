/**
 * Bytes of request bodies being read and parsed right now, bounded: with the write queue's own bound this
 * keeps memory bounded however many clients send at once. A request reserves its declared size (or the
 * route's limit when it declares none) before reading, and releases it when answered.
 */
export class BodyBudget {
  private used = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes reserved now (for metrics and tests). */
  get inUse(): number {
    return this.used;
  }

  /** Reserves `bytes`; false (and nothing reserved) when that would pass the bound. */
  tryReserve(bytes: number): boolean {
    // One request alone may always proceed, so a bound below a route's limit cannot starve that route.
    if (this.used > 0 && this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
}

/** Compressed JSON inflates by about this much; a gzip body reserves its declared size times this first. */
export const GZIP_RESERVE_FACTOR = 16;

/**
 * What a request reserves before reading: its declared length, the limit when undeclared, and for gzip the
 * declared length times GZIP_RESERVE_FACTOR (capped at the limit). A gzip body that inflates to more must
 * reserve the difference before it is parsed (see readJsonBody's `admit`).
 */
export function reservationFor(contentLength: string | undefined, contentEncoding: string | undefined, limitBytes: number): number {
  const declared = Number(contentLength);
  if (!contentLength || !Number.isFinite(declared) || declared < 0) return limitBytes;
  const gzip = (contentEncoding ?? 'identity').trim().toLowerCase() === 'gzip';
  return Math.min(gzip ? declared * GZIP_RESERVE_FACTOR : declared, limitBytes);
}
