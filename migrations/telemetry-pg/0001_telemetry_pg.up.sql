-- Telemetry on PostgreSQL (TELEMETRY_DATABASE_URL): the same data as telemetry.db (migrations/telemetry),
-- laid out for several ingest processes writing at once. Only ingest's store/postgres/ knows this layout.
--
-- Raw events and crashes are declaratively partitioned by day number (timestamp / 86400000, UTC), one
-- partition per UTC month, named like SQLite's (telemetry_events_YYYY_MM, crash_reports_YYYY_MM), created
-- ahead of need by store/postgres/partitions.ts under an advisory lock and dropped whole by retention.
-- Timestamps are Unix ms (bigint); device ids are the 64-bit keyed hashes; repeated strings are ids.
-- Text columns are COLLATE "C": byte order, as SQLite compares, so both backends sort (and page) alike
-- whatever the database's locale, and keys compare without the locale's cost (the rollup's device rows).

CREATE TABLE dim_apps (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id text COLLATE "C" NOT NULL UNIQUE,          -- the portal's apps.id
    package_id text COLLATE "C" NOT NULL
);

CREATE TABLE dim_event_types (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text COLLATE "C" NOT NULL UNIQUE
);

-- The event types each app has sent, at most MAX_EVENT_TYPES_PER_APP per app: the writer adds a type
-- under the app's advisory lock, so the limit holds across processes.
CREATE TABLE app_event_types (
    app_id integer NOT NULL REFERENCES dim_apps (id),
    event_type integer NOT NULL REFERENCES dim_event_types (id),
    PRIMARY KEY (app_id, event_type)
);

-- One row per partition that exists (kept by partitions.ts in the transaction that creates or drops it).
CREATE TABLE telemetry_partitions (
    name text COLLATE "C" PRIMARY KEY,
    kind text COLLATE "C" NOT NULL CHECK (kind IN ('events', 'crashes')),
    month text COLLATE "C" NOT NULL,                  -- YYYY-MM (UTC)
    from_day integer NOT NULL,                        -- first day number of the month
    to_day integer NOT NULL,                          -- first day number of the next month
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, month)
);

-- id: one sequence across all partitions, the storage position the rollup folds from. Sequence values are
-- handed out in time order but commit out of order across sessions, so readers go only up to a settled
-- position (position_samples below). day is stored (not an expression) because the partition key and
-- every unique index on a partitioned table must be plain columns.
CREATE TABLE telemetry_events (
    id bigint GENERATED ALWAYS AS IDENTITY,
    app_id integer NOT NULL,                          -- dim_apps.id
    day integer NOT NULL,                             -- timestamp / 86400000
    device_id bigint NOT NULL,
    event_type integer NOT NULL,                      -- dim_event_types.id
    timestamp bigint NOT NULL,                        -- Unix ms, UTC, after sent_at correction
    event_id uuid,                                    -- for idempotent retries; NULL never conflicts
    mosis_version text COLLATE "C",
    event_data text COLLATE "C",                      -- JSON object text; NULL when empty
    app_version text COLLATE "C",
    received_at bigint NOT NULL                       -- Unix ms, server clock of the commit that stored the row
) PARTITION BY RANGE (day);
-- Idempotency and the readers' (app, day) prefix in one index, as on SQLite.
CREATE UNIQUE INDEX telemetry_events_app_day ON telemetry_events (app_id, day, device_id, event_id);
-- The rollup and the live tail read rows after a position.
CREATE INDEX telemetry_events_id ON telemetry_events (id);

-- Crash idempotency is per (app, device, crash_id) within a month partition (plus the neighbouring month
-- near its edge, checked by the writer), as on SQLite: that unique index is made per partition, since a
-- unique index on the parent would have to include day.
CREATE TABLE crash_reports (
    id bigint GENERATED ALWAYS AS IDENTITY,
    app_id integer NOT NULL,                          -- dim_apps.id
    day integer NOT NULL,                             -- timestamp / 86400000
    device_id bigint NOT NULL,
    timestamp bigint NOT NULL,                        -- Unix ms, UTC
    crash_id uuid,
    fingerprint text COLLATE "C" NOT NULL,
    crash_type text COLLATE "C" NOT NULL,
    app_version text COLLATE "C" NOT NULL,
    message text COLLATE "C",
    stack_trace text COLLATE "C",
    context text COLLATE "C",                         -- JSON object text
    mosis_version text COLLATE "C",
    created_at bigint NOT NULL                        -- Unix ms, server clock
) PARTITION BY RANGE (day);
CREATE INDEX crash_reports_app_time ON crash_reports (app_id, timestamp);
CREATE INDEX crash_reports_app_fingerprint ON crash_reports (app_id, fingerprint, timestamp);
CREATE INDEX crash_reports_id ON crash_reports (id);

-- Samples of each raw table's sequence (its last handed-out id) taken by maintenance. A sample older than
-- the settle delay bounds ids whose transactions have all ended (every inserting transaction is bounded by
-- a timeout shorter than that delay): the rollup folds only up to it.
CREATE TABLE position_samples (
    kind text COLLATE "C" NOT NULL CHECK (kind IN ('events', 'crashes')),
    taken_at timestamptz NOT NULL,
    last_id bigint NOT NULL,
    PRIMARY KEY (kind, taken_at)
);

-- Per raw table: the last id folded into the aggregates (one sequence per table, so one position per kind).
CREATE TABLE rollup_positions (
    kind text COLLATE "C" PRIMARY KEY CHECK (kind IN ('events', 'crashes')),
    last_id bigint NOT NULL
);
INSERT INTO rollup_positions (kind, last_id) VALUES ('events', 0), ('crashes', 0);

-- Aggregates, as telemetry.db's (migrations/telemetry 0001, 0003, 0006), kept forever. Dates are
-- YYYY-MM-DD text (UTC) as there, so both backends read and copy them the same way.
CREATE TABLE telemetry_daily (
    app_id text COLLATE "C" NOT NULL,                 -- the portal's apps.id
    date text COLLATE "C" NOT NULL,
    event_type text COLLATE "C" NOT NULL,
    count bigint NOT NULL,
    unique_devices bigint NOT NULL,
    sketch bytea,                                     -- DeviceSketch of a closed day; NULL while open (device_days)
    PRIMARY KEY (app_id, date, event_type)
);

-- dim '' (value ''): all events of the app that day; 'mosis_version', 'app_version' (value '': not sent).
CREATE TABLE telemetry_daily_dims (
    app_id text COLLATE "C" NOT NULL,
    date text COLLATE "C" NOT NULL,
    dim text COLLATE "C" NOT NULL,
    value text COLLATE "C" NOT NULL,
    count bigint NOT NULL,
    devices bigint NOT NULL,
    sketch bytea,
    PRIMARY KEY (app_id, date, dim, value)
);

-- Exact devices of the open days: dim 0 all, 1 event_type, 2 mosis_version, 3 app_version.
CREATE TABLE device_days (
    app integer NOT NULL,                             -- dim_apps.id
    day integer NOT NULL,
    dim smallint NOT NULL,
    value text COLLATE "C" NOT NULL,
    device bigint NOT NULL,
    PRIMARY KEY (app, day, dim, value, device)
);

CREATE TABLE crash_daily (
    app_id text COLLATE "C" NOT NULL,
    date text COLLATE "C" NOT NULL,
    fingerprint text COLLATE "C" NOT NULL,
    crash_type text COLLATE "C" NOT NULL,
    message text COLLATE "C",                         -- sample: the first stored crash of that day
    count bigint NOT NULL,
    devices bigint NOT NULL,
    first_seen bigint NOT NULL,                       -- Unix ms
    last_seen bigint NOT NULL,
    app_versions text COLLATE "C" NOT NULL,           -- JSON array of distinct versions, sorted
    PRIMARY KEY (app_id, date, fingerprint)
);

CREATE TABLE crash_daily_devices (
    app_id text COLLATE "C" NOT NULL,
    date text COLLATE "C" NOT NULL,
    fingerprint text COLLATE "C" NOT NULL,
    device_id bigint NOT NULL,
    PRIMARY KEY (app_id, date, fingerprint, device_id)
);

-- Oldest UTC day whose raw rows are still complete, per kind (rollup never recomputes an earlier day).
CREATE TABLE retention_watermark (
    kind text COLLATE "C" PRIMARY KEY CHECK (kind IN ('events', 'crashes')),
    kept_from text COLLATE "C" NOT NULL               -- YYYY-MM-DD (UTC)
);

-- Last run of each scheduled job, for `ops stats` and metrics.
CREATE TABLE job_runs (
    job text COLLATE "C" PRIMARY KEY,
    started_at bigint NOT NULL,                       -- Unix ms
    finished_at bigint,
    ok boolean,                                       -- NULL while running
    last_ok_at bigint,
    summary text COLLATE "C",                         -- JSON
    error text COLLATE "C"
);

-- Who holds each job's lease (the lock itself is a session advisory lock; this row says who and since
-- when, for operators), expiring so a crashed holder's row is plainly stale.
CREATE TABLE job_leases (
    name text COLLATE "C" PRIMARY KEY,
    holder text COLLATE "C" NOT NULL,
    expires_at bigint NOT NULL                        -- Unix ms
);

-- Apps as the core API publishes them, for ingest processes that cannot read portal.db: every change
-- takes a new version (NOTIFY app_registry follows), so a reader asks for version > the last it saw.
-- A deleted app stays as status 'deleted' so that its removal reaches every reader too.
CREATE SEQUENCE app_registry_version AS bigint;
CREATE TABLE app_registry (
    app_id text COLLATE "C" PRIMARY KEY,              -- the portal's apps.id
    package_id text COLLATE "C" NOT NULL,
    status text COLLATE "C" NOT NULL,
    version bigint NOT NULL DEFAULT nextval('app_registry_version')
);
CREATE INDEX app_registry_version_idx ON app_registry (version);
CREATE INDEX app_registry_package ON app_registry (package_id);
