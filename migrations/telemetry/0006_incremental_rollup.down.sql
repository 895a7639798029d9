-- Back to the dirty-day recompute: every day that may still have raw rows (the days of each partition's
-- month from the retention watermark on) is marked dirty, so the old rollup recomputes it whole.
CREATE TABLE rollup_dirty (
    kind TEXT NOT NULL CHECK (kind IN ('events', 'crashes')),
    app_id INTEGER NOT NULL,              -- dim_apps.id
    day TEXT NOT NULL,                    -- YYYY-MM-DD (UTC)
    gen INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (kind, app_id, day)
) WITHOUT ROWID;
INSERT INTO rollup_dirty (kind, app_id, day)
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
SELECT p.kind, a.id, date(p.month || '-01', '+' || n.i || ' days') AS day
FROM telemetry_partitions p, n, dim_apps a
WHERE substr(day, 1, 7) = p.month
  AND day >= coalesce((SELECT kept_from FROM retention_watermark w WHERE w.kind = p.kind), '');

DROP TABLE device_days;
DROP TABLE telemetry_daily_dims;
ALTER TABLE telemetry_daily DROP COLUMN sketch;
DROP TABLE rollup_positions;
