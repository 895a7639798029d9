/** Every limit and interval of the core API, with its unit, in one place. */

/** Largest JSON request body accepted on /v1 routes. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;

/** A login session lives this long after login (no sliding renewal: log in again). */
export const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** `last_used_at` of an API key is written at most this often (a read-mostly table stays read-mostly). */
export const KEY_LAST_USED_RESOLUTION_MS = 60 * 1000;

/** scrypt cost parameters for new password hashes (N = 2^14, r = 8, p = 1: ~16 MiB, tens of ms). */
export const SCRYPT_PARAMS = { N: 16_384, r: 8, p: 1 } as const;
/** Bytes of random salt per password and of derived key. */
export const SCRYPT_SALT_BYTES = 16;
export const SCRYPT_KEY_BYTES = 32;

/**
 * Login limits. A login that presents a device token of the account (given out by its earlier logins on that
 * client) is limited only per token, so nobody else's failures can lock the owner out of a known client. A
 * login without one is limited per (email, IP), per IP and, per email from all IPs, by the hourly ceiling on
 * distributed guessing; over a limit it is refused without checking the password. Only failures count.
 */
/** Failed token-less logins per email address from one client IP within LOGIN_WINDOW_MS. */
export const LOGIN_MAX_PER_EMAIL_AND_IP = 10;
/** Failed token-less logins per client IP within LOGIN_WINDOW_MS, across emails (a NAT may hide a few people). */
export const LOGIN_MAX_PER_IP = 50;
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
/**
 * Failed token-less logins per email from all IPs together within LOGIN_EMAIL_WINDOW_MS: at most this many
 * password guesses per account per hour, however many addresses guess. The price: while it is full, the owner
 * can log in only from a client that holds a device token; a new client waits for the window.
 */
export const LOGIN_MAX_PER_EMAIL = 100;
export const LOGIN_EMAIL_WINDOW_MS = 60 * 60 * 1000;
/** Failed logins per device token within LOGIN_WINDOW_MS (a typo-prone owner, or a stolen token). */
export const LOGIN_MAX_PER_DEVICE = 10;
/** Device tokens a developer holds at most: a new login beyond that drops the least recently used. */
export const MAX_LOGIN_DEVICES_PER_DEVELOPER = 20;
/** A device token not used to log in for this long is no longer one. */
export const LOGIN_DEVICE_TTL_MS = 180 * 24 * 60 * 60 * 1000;
/** Account registrations per client IP within REGISTER_WINDOW_MS. */
export const REGISTER_MAX_PER_IP = 10;
export const REGISTER_WINDOW_MS = 60 * 60 * 1000;
/** Distinct keys a rate limiter tracks before it sweeps stale ones (bounds its memory). */
export const RATE_LIMIT_MAX_KEYS = 100_000;

/**
 * Most items one /analytics/daily answer holds (days × event types). Checked before the answer is built, by
 * counting the range's event types only up to the number that fits, so a refused request costs as little
 * as an allowed one. 40,000 items are about 3 MB of JSON; the default 30 days of an app at ingest's default
 * cap of 1,000 event types (30,000 items) fit.
 */
export const MAX_SERIES_ITEMS = 40_000;
/** App versions listed per crash group at most (the first in sorted order); ingest does not bound them. */
export const MAX_APP_VERSIONS_PER_GROUP = 100;

/** Longest range of days one analytics request may span (both ends included). */
export const MAX_RANGE_DAYS = 400;
/** Days covered when `from` is not given: the 30 days ending with `to`. */
export const DEFAULT_RANGE_DAYS = 30;
/** Crash groups returned at most (most frequent first), and by default. */
export const MAX_CRASH_GROUPS = 1_000;
export const DEFAULT_CRASH_GROUPS = 100;
/** Values a breakdown lists at most (the rest is summed in other_count), and by default. */
export const MAX_BREAKDOWN_ITEMS = 100;
export const DEFAULT_BREAKDOWN_ITEMS = 10;
/** Event types the summary lists (most frequent first). */
export const SUMMARY_TOP_EVENT_TYPES = 10;
/**
 * Raw events per page of /events (and per tail poll) at most, and by default. An event's data is at most
 * 8 KiB, so a full page is at most about 8 MiB of JSON; most are far smaller.
 */
export const MAX_EVENTS_PAGE_LIMIT = 1_000;
export const DEFAULT_EVENTS_PAGE_LIMIT = 100;
/** Longest `after` (a tail position) accepted: one names a few month partitions (~25 characters each). */
export const MAX_TAIL_POSITION_CHARS = 8_192;

/** Page sizes of every cursor-paginated list. */
export const DEFAULT_PAGE_LIMIT = 20;
export const MAX_PAGE_LIMIT = 100;

/** Catalog search: at most this many terms of `q` are used (the rest is ignored, never an error). */
export const MAX_SEARCH_TERMS = 16;
/** A single search term longer than this is cut (FTS5 would simply find nothing for it). */
export const MAX_SEARCH_TERM_CHARS = 64;
/** bm25 column weights of apps_fts (name, description, tags): a hit in the name counts most. */
export const SEARCH_WEIGHTS = { name: 10, description: 1, tags: 4 } as const;

/** API keys a developer may hold (active or not) and signing keys likewise: bounds abuse, not use. */
export const MAX_API_KEYS_PER_DEVELOPER = 100;
export const MAX_SIGNING_KEYS_PER_DEVELOPER = 50;

/** Largest package upload unless MAX_PACKAGE_BYTES says otherwise: 256 MiB. */
export const DEFAULT_MAX_PACKAGE_BYTES = 256 * 1024 * 1024;
/** How long a package no version references is kept before its file is removed, unless PACKAGE_GC_GRACE_HOURS says otherwise. */
export const DEFAULT_PACKAGE_GC_GRACE_HOURS = 24;
/** How often the package garbage collector runs (it also runs once at start). */
export const PACKAGE_GC_INTERVAL_MS = 10 * 60 * 1000;
/**
 * A removed package's backup copy is kept this long after the file went: litestream.yml's 720 h retention, so
 * a point-in-time restore of portal.db within it finds the packages its versions name.
 */
export const PACKAGE_BACKUP_RETENTION_MS = 720 * 60 * 60 * 1000;
/** Bytes written to a package file per write call: chunks from the socket are gathered up to this. */
export const PACKAGE_WRITE_CHUNK_BYTES = 1024 * 1024;
/** Bytes read from a package file per chunk when it is downloaded. */
export const PACKAGE_READ_CHUNK_BYTES = 256 * 1024;
/** How long caches may serve a package download before revalidating (ETag): a suspension shows within it. */
export const PACKAGE_CACHE_MAX_AGE_S = 300;

/** What tests (and only tests) may turn down: the slow hash and the rate limits. */
export interface Tuning {
  scrypt: { N: number; r: number; p: number };
  loginMaxPerEmail: number;
  loginEmailWindowMs: number;
  loginMaxPerEmailAndIp: number;
  loginMaxPerIp: number;
  loginWindowMs: number;
  loginMaxPerDevice: number;
  registerMaxPerIp: number;
  registerWindowMs: number;
}

export const DEFAULT_TUNING: Tuning = {
  scrypt: SCRYPT_PARAMS,
  loginMaxPerEmail: LOGIN_MAX_PER_EMAIL,
  loginEmailWindowMs: LOGIN_EMAIL_WINDOW_MS,
  loginMaxPerEmailAndIp: LOGIN_MAX_PER_EMAIL_AND_IP,
  loginMaxPerIp: LOGIN_MAX_PER_IP,
  loginWindowMs: LOGIN_WINDOW_MS,
  loginMaxPerDevice: LOGIN_MAX_PER_DEVICE,
  registerMaxPerIp: REGISTER_MAX_PER_IP,
  registerWindowMs: REGISTER_WINDOW_MS,
};

/**
 * Default HTTP_REQUEST_TIMEOUT_MS of the core API: an hour, where ingest's is two minutes. A package of
 * MAX_PACKAGE_BYTES (256 MiB) takes about 35 minutes at 1 Mbit/s; a client that stops sending is cut
 * off much sooner by HTTP_BODY_IDLE_TIMEOUT_MS.
 */
export const CORE_HTTP_REQUEST_TIMEOUT_MS = 60 * 60 * 1000;

/** The web console (console/): cookies, the operator sign-in, static assets. */
/** A device-token cookie lives as long as the device token does (LOGIN_DEVICE_TTL_MS), in seconds. */
export const CONSOLE_DEVICE_COOKIE_MAX_AGE_S = LOGIN_DEVICE_TTL_MS / 1000;
/** The pre-session cookie behind the CSRF token of the sign-in and sign-up forms lives this long (seconds). */
export const CONSOLE_PRESESSION_MAX_AGE_S = 2 * 60 * 60;
/** An operator's console session (after typing ADMIN_TOKEN) lasts this long; it is kept in memory only. */
export const CONSOLE_OPERATOR_SESSION_TTL_MS = 8 * 60 * 60 * 1000;
/** Operator console sessions held at once; a sign-in beyond that ends the oldest. */
export const CONSOLE_MAX_OPERATOR_SESSIONS = 100;
/** Failed operator sign-ins per client IP within LOGIN_WINDOW_MS. */
export const CONSOLE_OPERATOR_MAX_FAILURES_PER_IP = 10;
/** Static assets are addressed by a build id in their URL, so browsers may keep them this long (seconds). */
export const CONSOLE_ASSET_MAX_AGE_S = 365 * 24 * 60 * 60;
/** Items per page of the console's lists (apps, audit log, crash reports). */
export const CONSOLE_PAGE_ITEMS = 50;
/** Event types drawn as their own line in the events-per-day chart; the rest are summed as "other". */
export const CONSOLE_CHART_MAX_EVENT_TYPES = 8;
/** Events the live view keeps on screen (the oldest scroll away). */
export const CONSOLE_LIVE_MAX_ROWS = 200;
