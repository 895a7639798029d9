-- The incremental rollup (ingest's jobs/rollup.ts): aggregates grow by the rows stored since the last run,
-- found by storage position, instead of whole days being recomputed from dirty marks.

-- Per raw partition: the last row id folded into the aggregates. Rows are never updated after insert and
-- the one writer commits ids in increasing order, so the rows with a larger id are exactly those not yet
-- folded in. Every existing partition starts at 0: its rows are folded again from scratch (below).
CREATE TABLE rollup_positions (
    name TEXT PRIMARY KEY,                -- telemetry_partitions.name
    last_id INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO rollup_positions (name, last_id) SELECT name, 0 FROM telemetry_partitions;

-- Distinct devices of a closed day (older than today and yesterday, UTC), per event type: a DeviceSketch
-- (exact set up to 1,000 devices, HyperLogLog beyond). NULL while the day is open (see device_days).
ALTER TABLE telemetry_daily ADD COLUMN sketch BLOB;

-- The other dimensions of the daily aggregates, kept forever: dim '' (value ''): all events of the app
-- that day; 'mosis_version' and 'app_version' (value '': the event did not carry one).
CREATE TABLE telemetry_daily_dims (
    app_id TEXT NOT NULL,                 -- the portal's apps.id, as in telemetry_daily
    date TEXT NOT NULL,                   -- YYYY-MM-DD (UTC)
    dim TEXT NOT NULL,
    value TEXT NOT NULL,
    count INTEGER NOT NULL,
    devices INTEGER NOT NULL,             -- distinct devices that day
    sketch BLOB,                          -- as telemetry_daily.sketch
    PRIMARY KEY (app_id, date, dim, value)
) WITHOUT ROWID;

-- The exact devices of the days still open, one row per (app, day, dimension value, device); a row added
-- increments the matching aggregate's device count, so per-day counts are exact. When a day closes, its
-- rows become the aggregates' sketches and are deleted. dim: 0 all, 1 event_type, 2 mosis_version,
-- 3 app_version.
CREATE TABLE device_days (
    app INTEGER NOT NULL,                 -- dim_apps.id
    day INTEGER NOT NULL,                 -- timestamp / 86400000
    dim INTEGER NOT NULL,
    value TEXT NOT NULL,
    device INTEGER NOT NULL,              -- the 64-bit keyed hash of the raw partitions
    PRIMARY KEY (app, day, dim, value, device)
) WITHOUT ROWID;

-- The aggregates of the days that still have raw rows are rebuilt exactly by the first rollup (positions
-- at 0); earlier days keep their counts but have no sketches or other dimensions.
DELETE FROM telemetry_daily WHERE date >= coalesce((SELECT kept_from FROM retention_watermark WHERE kind = 'events'), '');
DELETE FROM crash_daily WHERE date >= coalesce((SELECT kept_from FROM retention_watermark WHERE kind = 'crashes'), '');
DELETE FROM crash_daily_devices WHERE date >= coalesce((SELECT kept_from FROM retention_watermark WHERE kind = 'crashes'), '');

DROP TABLE rollup_dirty;
