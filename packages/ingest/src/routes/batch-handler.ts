import { ApiError } from '@mosis/shared';
import type { Context } from 'hono';
import type { AppLookup } from '../apps/app-cache.js';
import { contextBody, readJsonBody, type BodySource } from '../http/body.js';
import type { BodyBudget } from '../http/body-budget.js';
import type { IngestMetrics } from '../metrics.js';
import type { DeviceHasher } from '../privacy/device-hash.js';
import type { CrashRecord, EventRecord, RowRejection, WriteRequest } from '../store/types.js';
import { clockOffset } from '../validation/clock.js';
import { parseEnvelope } from '../validation/envelope.js';
import type { ItemContext } from '../validation/events.js';
import type { Rejection } from '../validation/rejection.js';
import type { GroupCommitWriter } from '../write/group-commit.js';
import { RETRY_AFTER_SECONDS } from '../limits.js';

/** What the batch routes need. */
export interface BatchDeps {
  apps: AppLookup;
  hasher: DeviceHasher;
  writer: GroupCommitWriter;
  /** Bounds the bytes of bodies being read and parsed at once. */
  budget: BodyBudget;
  metrics: IngestMetrics;
  /** True once shutdown began: new requests are refused. */
  stopping: () => boolean;
  /** Raw retention in ms: events older than this are rejected. */
  retentionMs: number;
  now?: () => number;
}

/** How one kind of batch is read and validated. */
export interface BatchKind<R> {
  kind: 'events' | 'crashes';
  maxBodyBytes: number;
  maxItems: number;
  toRecord: (item: unknown, index: number, ctx: ItemContext) => R | Rejection;
}

/** The 202 body. */
export interface BatchResponse {
  accepted: number;
  duplicates: number;
  rejected: Rejection[];
}

/** A batch route (handleBatch) as a Hono handler: app.request(), and any request the direct routes leave to Hono. */
export function honoBatch(handle: (req: BodySource) => Promise<BatchResponse>) {
  return async (c: Context) => c.json(await handle(contextBody(c)), 202);
}

/**
 * Handles `POST /v1/events` and `/v1/crashes`, whichever way the request came (Hono or node:http directly):
 * refuse at once when saturated, read the body within its limit and the memory budget, validate item by item
 * (a bad item rejects only itself), queue the rest, and resolve with the 202 body once they are committed
 * (with the rows the store refused, if any, among the rejections). Throws ApiError for any other answer.
 */
export function handleBatch<R extends EventRecord | CrashRecord>(spec: BatchKind<R>, deps: BatchDeps): (req: BodySource) => Promise<BatchResponse> {
  const now = deps.now ?? Date.now;
  // The counters' children once, not a labels object hashed per request.
  const accepted = deps.metrics.accepted.labels({ kind: spec.kind });
  const duplicated = deps.metrics.duplicates.labels({ kind: spec.kind });
  return async (req) => {
    // Before reading the body: a saturated service must not buffer more.
    if (deps.stopping() || deps.writer.saturated) {
      const reason = deps.stopping() ? 'stopping' : 'queue_full';
      deps.metrics.refused.inc({ reason });
      throw ApiError.unavailable(RETRY_AFTER_SECONDS, reason === 'stopping' ? 'service is stopping, retry later' : 'write queue is full, retry later');
    }
    if (deps.budget.exhausted) throw bodiesInFlight(deps);
    // What this request holds of the budget: its body as it arrives (and inflates), until its rows are built.
    let reserved = 0;
    let stored = 0;
    let duplicates = 0;
    let rejected: Rejection[];
    try {
      const body = await readJsonBody(req, spec.maxBodyBytes, (bytes) => {
        if (!deps.budget.tryGrow(reserved, bytes)) throw bodiesInFlight(deps);
        reserved += bytes;
      });
      const envelope = parseEnvelope(body.value, spec.kind, spec.maxItems);
      if (deps.apps.prepare) await deps.apps.prepare(packageIdsOf(envelope.items));
      const t = now();
      const ctx: ItemContext = { apps: deps.apps, hasher: deps.hasher, now: t, offset: clockOffset(envelope.sentAt, t), retentionMs: deps.retentionMs };
      const rows: R[] = [];
      rejected = [];
      for (let i = 0; i < envelope.items.length; i++) {
        const r = spec.toRecord(envelope.items[i], i, ctx);
        if ('reason' in r) rejected.push(r);
        else rows.push(r);
      }
      for (const r of rejected) deps.metrics.rejected.inc({ kind: spec.kind, reason: r.reason });
      // The body is parsed and turned into rows: from here the write queue's own bound counts them.
      deps.budget.release(reserved);
      reserved = 0;

      if (rows.length) {
        if (deps.writer.saturated) {
          deps.metrics.refused.inc({ reason: 'queue_full' });
          throw ApiError.unavailable(RETRY_AFTER_SECONDS, 'write queue is full, retry later');
        }
        const result = await deps.writer.submit({ kind: spec.kind, rows } as WriteRequest, body.bytes);
        stored = result.stored;
        duplicates = result.duplicates;
        if (result.rejected) {
          for (const r of result.rejected) deps.metrics.rejected.inc({ kind: spec.kind, reason: r.reason });
          rejected = withStoreRejections(rejected, result.rejected, envelope.items.length);
        }
        accepted.inc(stored);
        if (duplicates) duplicated.inc(duplicates);
      }
    } finally {
      deps.budget.release(reserved);
    }
    return { accepted: stored, duplicates, rejected };
  };
}

/** The distinct `app` strings the items name (validation refuses the rest item by item). */
function packageIdsOf(items: readonly unknown[]): Set<string> {
  const out = new Set<string>();
  for (const item of items) {
    const app = (item as { app?: unknown } | null)?.app;
    if (typeof app === 'string') out.add(app);
  }
  return out;
}

function bodiesInFlight(deps: BatchDeps): ApiError {
  deps.metrics.refused.inc({ reason: 'bodies_in_flight' });
  return ApiError.unavailable(RETRY_AFTER_SECONDS, 'too many requests in flight, retry later');
}

/**
 * The validation rejections (by item index, ascending) merged with the rows the store refused (by row
 * index): rows are the items that passed validation, in order.
 */
function withStoreRejections(rejected: Rejection[], byStore: RowRejection[], items: number): Rejection[] {
  const out: Rejection[] = [];
  let v = 0;
  let s = 0;
  let row = 0;
  for (let index = 0; index < items && (v < rejected.length || s < byStore.length); index++) {
    if (v < rejected.length && rejected[v]!.index === index) {
      out.push(rejected[v++]!);
      continue;
    }
    if (s < byStore.length && byStore[s]!.row === row) {
      const r = byStore[s++]!;
      out.push({ index, reason: r.reason, field: 'event_type', message: r.message });
    }
    row++;
  }
  return out;
}
