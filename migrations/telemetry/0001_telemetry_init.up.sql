-- Telemetry storage. Raw events and crashes live in month partitions, one table per month and kind
-- (telemetry_events_YYYY_MM, crash_reports_YYYY_MM), created by the ingest service when the first row of a
-- month arrives and listed in telemetry_partitions. Views named like the seed's tables (telemetry_events,
-- crash_reports) union the partitions with readable columns for operators using the sqlite3 shell.
--
-- To keep a raw event small, repeated strings are stored once in dimension tables and referenced by
-- integer; timestamps are integer Unix milliseconds; device ids are 64-bit keyed hashes.

-- Apps seen by ingest: app_id is the portal's apps.id, package_id what devices send.
CREATE TABLE dim_apps (
    id INTEGER PRIMARY KEY,
    app_id TEXT NOT NULL UNIQUE,
    package_id TEXT NOT NULL
);

CREATE TABLE dim_event_types (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE telemetry_partitions (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('events', 'crashes')),
    month TEXT NOT NULL,                  -- YYYY-MM (UTC)
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (kind, month)
);

-- Daily aggregates (seed), kept forever. app_id and event_type are text here: this is what people read.
CREATE TABLE telemetry_daily (
    app_id TEXT NOT NULL,
    date TEXT NOT NULL,                   -- YYYY-MM-DD (UTC)
    event_type TEXT NOT NULL,
    count INTEGER NOT NULL,
    unique_devices INTEGER NOT NULL,
    PRIMARY KEY (app_id, date, event_type)
) WITHOUT ROWID;

-- Days that received rows since their last rollup. The writer marks (kind, app, day) in the same
-- transaction as the rows and bumps gen; the rollup clears a mark only if gen is what it read.
CREATE TABLE rollup_dirty (
    kind TEXT NOT NULL CHECK (kind IN ('events', 'crashes')),
    app_id INTEGER NOT NULL,              -- dim_apps.id
    day TEXT NOT NULL,                    -- YYYY-MM-DD (UTC)
    gen INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (kind, app_id, day)
) WITHOUT ROWID;
