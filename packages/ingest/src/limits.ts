/**
 * Limits of the device API (shared/API.md) and defaults of the write path, in one place. The write-path
 * defaults can be overridden by config (config.ts); the contract's limits cannot.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Largest `POST /v1/events` body, after decompression (contract). */
export const MAX_EVENTS_BODY_BYTES = 1 * MiB;
/** Largest `POST /v1/crashes` body, after decompression (contract). */
export const MAX_CRASHES_BODY_BYTES = 4 * MiB;
/** Items per `POST /v1/events` (contract). */
export const MAX_BATCH_EVENTS = 1000;
/** Items per `POST /v1/crashes` (contract). */
export const MAX_BATCH_CRASHES = 100;
/** Serialized `data` of one event (contract). */
export const MAX_EVENT_DATA_BYTES = 8 * KiB;
/** Serialized `context` of one crash (ours: the same budget as event data). */
export const MAX_CRASH_CONTEXT_BYTES = 8 * KiB;
/** Levels `data` and `context` may nest (contract): the object itself is level 1. Deeper is rejected while validating. */
export const MAX_JSON_DEPTH = 32;
/** `stack_trace` of one crash (contract). */
export const MAX_STACK_TRACE_BYTES = 256 * KiB;
/** `message` of one crash (ours). */
export const MAX_CRASH_MESSAGE_CHARS = 4 * KiB;
/** An event this far in the future (after clock correction) is rejected (contract). */
export const MAX_FUTURE_MS = 24 * HOUR_MS;
/** Default raw retention (contract: 90 days); RETENTION_DAYS overrides it for ingest and retention alike. */
export const RAW_RETENTION_DAYS = 90;
/**
 * A retried crash near a month boundary may land in the neighbouring partition: checked within this span.
 * (Events are checked in the neighbouring UTC days, whichever partition holds them.)
 */
export const MONTH_EDGE_DEDUP_MS = DAY_MS + HOUR_MS;

/** Default: queued (accepted, not yet committed) events above which new requests get 503. */
export const DEFAULT_QUEUE_MAX_EVENTS = 20_000;
/** Default: queued body bytes above which new requests get 503 (crash reports are large). */
export const DEFAULT_QUEUE_MAX_BYTES = 32 * MiB;
/**
 * Default: bytes of request bodies being read and parsed at once, reserved as they arrive (and, for gzip, as
 * they inflate), so a stalled upload holds only what it sent. Parsed JSON takes a few times its text in
 * memory, so this and the queue bound keep ingest well under 200 MB.
 */
export const DEFAULT_MAX_BODY_BYTES_IN_FLIGHT = 24 * MiB;
/** Default: a flush starts as soon as this many events are queued... */
export const DEFAULT_FLUSH_MAX_EVENTS = 2_000;
/** ...or this long after the first queued request, whichever comes first. */
export const DEFAULT_FLUSH_INTERVAL_MS = 4;
/**
 * Default, under Litestream: WAL bytes above which commits wait until Litestream has copied and
 * checkpointed the WAL (store/sqlite/wal-index.ts). Well above Litestream's own RESTART point (10 000 pages, ~40 MiB,
 * litestream.yml) plus what is written until its next sync, so it holds only when Litestream falls behind: at
 * 64 MiB it held every commit between two syncs under full load (README, Operations).
 */
export const DEFAULT_WAL_MAX_MIB = 128;
/** The writer thread retries taking the write lock this often while another connection holds it. */
export const WRITER_BUSY_RETRY_MS = 1;
/** How often a held commit looks again. */
export const WAL_HOLD_POLL_MS = 10;
/** Longest a commit is held: after it, ingest writes anyway (and warns) rather than stall on a stuck Litestream. */
export const WAL_HOLD_MAX_MS = 10_000;
/** Without Litestream: how often the checkpointer looks at the WAL (store/sqlite/checkpointer.ts). */
export const CHECKPOINT_POLL_MS = 50;
/** Without Litestream: how often a commit held by the checkpointer's RESTART looks again (it lasts ms). */
export const CHECKPOINT_HOLD_POLL_MS = 1;
/** Without Litestream: WAL frames (4 KiB pages) at which the checkpointer RESTARTs the WAL (~16 MiB). */
export const CHECKPOINT_RESTART_PAGES = 4_000;
/** Default: how often the app cache checks portal.db for new, changed or suspended apps. */
export const DEFAULT_APP_CACHE_REFRESH_MS = 1_000;
/**
 * A package_id that is not in the app cache is looked up in portal.db at once (an app created a moment
 * ago), and then remembered as unknown for this long, so a flood of events for unknown apps costs no
 * portal.db access per event. A refresh that sees portal.db changed forgets them all.
 */
export const APP_MISS_TTL_MS = 1_000;
/** Unknown package_ids remembered at most (the oldest is forgotten first). */
export const APP_MISS_MAX_ENTRIES = 10_000;
/** Default: distinct event types per app (contract: MAX_EVENT_TYPES_PER_APP); an event of a new type beyond it is rejected. */
export const DEFAULT_MAX_EVENT_TYPES_PER_APP = 1_000;
/** Default: telemetry.db page cache, MiB (the shared default is 64; ingest keeps RSS under 200 MB). */
export const DEFAULT_TELEMETRY_CACHE_MIB = 32;
/** Under a load that keeps filling the write queue, "queue full" is logged at most this often. */
export const QUEUE_FULL_LOG_INTERVAL_MS = 10_000;
/** `Retry-After` (seconds) on a 503 when the queue is full or the service is stopping. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * Days whose distinct devices the rollup keeps as exact device rows: today and yesterday (UTC), where late
 * events land most. An older day closes: its device rows become sketches (store/sqlite/rollup-close.ts).
 */
export const OPEN_DAYS = 2;
/** Raw rows the rollup folds in one step (one snapshot read, one write transaction of a few ms). */
export const ROLLUP_STEP_ROWS = 1_000;
/** Items of a breakdown at most (the rest is summed in other_count). */
export const MAX_BREAKDOWN_ITEMS = 100;
/** A key a `data.KEY` breakdown may name: a top-level key of `data` (callers validate it; the store refuses others). */
export const BREAKDOWN_DATA_KEY = /^[A-Za-z0-9_]{1,64}$/;
/** A `data.KEY` breakdown value (an object or array as JSON text, or a long string) is cut to this. */
export const BREAKDOWN_VALUE_MAX_CHARS = 256;
/** App versions listed per crash group at most: the first in sorted order (ingest does not bound them). */
export const MAX_CRASH_GROUP_APP_VERSIONS = 100;

/**
 * Analytics reads (store/sqlite/): a live tail request examines at most this many stored rows (row ids,
 * across partitions, any app's), however far behind its position is, and answers the position it reached:
 * a rowid range of 20,000 rows reads in a few ms. A client far behind catches up over several polls.
 */
export const TAIL_SCAN_ROWS = 20_000;
/** Event partitions (months) a tail position names at most: 10 years of retention and some. */
export const MAX_POSITION_PARTITIONS = 160;

/**
 * Telemetry on PostgreSQL (store/postgres/): every transaction that inserts raw rows is bounded by this
 * (statement_timeout per statement, transaction_timeout where the server has it, idle in transaction on
 * the pool), so an id handed out longer ago than PG_SETTLE_MS belongs to a committed or aborted row: the
 * rollup and the live tail read only up to such a settled position.
 */
export const PG_WRITE_TX_TIMEOUT_MS = 2_000;
/** The settle delay: the write bound and a margin for clock steps between the server's sessions. */
export const PG_SETTLE_MS = 2 * PG_WRITE_TX_TIMEOUT_MS + 1_000;
/** PostgreSQL connections per ingest process by default: one flush in flight, the maintenance lease and a job, reads. */
export const DEFAULT_PG_POOL_MAX = 4;
/** A rollup waits out a settle delay up to this long (so its run folds what was stored just before it). */
export const PG_SETTLE_WAIT_MAX_MS = 60_000;
/** PostgreSQL rollup: raw rows folded per step (one transaction of set-based SQL). */
export const PG_ROLLUP_STEP_ROWS = 20_000;
/** PostgreSQL retention: rows deleted per transaction when trimming the boundary month. */
export const PG_TRIM_CHUNK_ROWS = 10_000;
/** Position samples older than this are deleted (only the newest settled one is ever read). */
export const PG_POSITION_SAMPLE_KEEP_MS = 3_600_000;
/** PostgreSQL: a read of analytics is cut after this long (statement_timeout of its transaction). */
export const PG_READ_TIMEOUT_MS = 15_000;
/** PostgreSQL: connections of the core API's read-only pool. */
export const PG_READ_POOL_MAX = 3;
/**
 * PostgreSQL: /readyz gives up on the server after this long and answers 503 (a health check must answer
 * fast; the pool's own connect timeout, for real work, is longer).
 */
export const PG_READY_TIMEOUT_MS = 1_500;
/**
 * Ingest with TELEMETRY_DATABASE_URL (apps/registry-cache.ts): besides LISTEN app_registry, which applies
 * a published app change within a second, ingest asks for changes after the last version it has this often,
 * in case a notification was lost (a dropped connection).
 */
export const APP_REGISTRY_POLL_MS = 3_000;
/** The core API publishes the whole apps table into app_registry this often (and at start), so a change whose publication failed is not lost. */
export const APP_REGISTRY_SYNC_MS = 60_000;
/** The core API checks portal.db for changes made by another process (ops review suspend) this often, then publishes them. */
export const APP_REGISTRY_WATCH_MS = 1_000;
/** A publication the core API waits for at most before answering (the minute's sync catches up a failed one). */
export const APP_REGISTRY_PUBLISH_TIMEOUT_MS = 2_000;
