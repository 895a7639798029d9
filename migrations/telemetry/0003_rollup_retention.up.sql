-- Rollup and retention bookkeeping, and the crash aggregates that outlive raw crash retention.

-- One row per (app, UTC day, crash fingerprint): what the crash-groups endpoint reads. Kept forever.
-- app_id is the portal's apps.id (text, like telemetry_daily); times are Unix ms.
CREATE TABLE crash_daily (
    app_id TEXT NOT NULL,
    date TEXT NOT NULL,                   -- YYYY-MM-DD (UTC)
    fingerprint TEXT NOT NULL,
    crash_type TEXT NOT NULL,
    message TEXT,                         -- sample: the first stored crash of that day
    count INTEGER NOT NULL,
    devices INTEGER NOT NULL,             -- distinct devices that day
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    app_versions TEXT NOT NULL,           -- JSON array of distinct versions, sorted
    PRIMARY KEY (app_id, date, fingerprint)
) WITHOUT ROWID;

-- Distinct (day, fingerprint, device) triples, so that "devices" over any date range is exact
-- (a sum of daily distinct counts would count a device once per day). Small rows; kept forever.
CREATE TABLE crash_daily_devices (
    app_id TEXT NOT NULL,
    date TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    device_id INTEGER NOT NULL,           -- the 64-bit keyed hash of the raw partitions
    PRIMARY KEY (app_id, date, fingerprint, device_id)
) WITHOUT ROWID;

-- Last run of each scheduled job (rollup, prune), for `ops stats`.
CREATE TABLE job_runs (
    job TEXT PRIMARY KEY,
    started_at INTEGER NOT NULL,          -- Unix ms
    finished_at INTEGER,
    ok INTEGER,                           -- 1 success, 0 failure, NULL running
    last_ok_at INTEGER,                   -- end of the last successful run
    summary TEXT,                         -- JSON
    error TEXT
) WITHOUT ROWID;

-- At most one rollup or prune at a time across processes (the ingest scheduler and `ops`): a lease
-- renewed while the job runs, so a crashed holder frees it when it expires.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL           -- Unix ms
) WITHOUT ROWID;

-- Oldest UTC day whose raw rows are still complete, per kind. Rollup never recomputes an earlier day
-- (its raw rows are gone or going): that would overwrite a good aggregate with a partial one.
CREATE TABLE retention_watermark (
    kind TEXT PRIMARY KEY CHECK (kind IN ('events', 'crashes')),
    kept_from TEXT NOT NULL               -- YYYY-MM-DD (UTC)
) WITHOUT ROWID;
