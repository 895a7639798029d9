/**
 * Defaults both services share, overridable by config (config.ts). HTTP timeouts bound how long a client
 * may hold a connection and the memory behind it without sending: Node's own defaults (60 s for headers,
 * 300 s for a request, no idle limit on a body) let a few stalled uploads pin a service's buffers.
 */

/** Longest wait for a request's complete headers. */
export const DEFAULT_HTTP_HEADERS_TIMEOUT_MS = 10_000;
/** Longest pause between two pieces of a request body (a stalled upload is answered 408 and closed). */
export const DEFAULT_HTTP_BODY_IDLE_TIMEOUT_MS = 10_000;
/**
 * Longest time to receive a whole request, headers and body: a client trickling a byte now and then is cut
 * off here. Ingest bodies are at most 4 MiB (about 70 s at 0.5 Mbit/s).
 */
export const DEFAULT_HTTP_REQUEST_TIMEOUT_MS = 120_000;
/** Node checks the header and request timeouts on a timer; this is its longest period. */
export const HTTP_TIMEOUT_CHECK_MAX_INTERVAL_MS = 1_000;

/**
 * A service with no /v1 request for this long is at rest: it gives back memory it needs only under load
 * (SQLite page caches, the jobs' reader thread; rest.ts). The next request starts a new busy period.
 */
export const IDLE_RELEASE_AFTER_MS = 30_000;
