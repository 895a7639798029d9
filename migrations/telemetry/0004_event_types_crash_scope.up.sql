-- The event types each app has sent. An app may have at most MAX_EVENT_TYPES_PER_APP of them: ingest
-- checks a new type against this table in the transaction that writes its first row, so the limit holds
-- however many requests arrive at once.
CREATE TABLE app_event_types (
    app_id INTEGER NOT NULL,              -- dim_apps.id
    event_type INTEGER NOT NULL,          -- dim_event_types.id
    PRIMARY KEY (app_id, event_type)
) WITHOUT ROWID;

-- Types already in the aggregates (kept forever). The migration runner (shared/databases.ts) adds those of
-- the raw partitions, and gives every crash partition's crash_id index the (app, device) scope that new
-- partitions are created with: partition names are known only at run time.
INSERT OR IGNORE INTO app_event_types (app_id, event_type)
SELECT a.id, t.id
FROM telemetry_daily d
JOIN dim_apps a ON a.app_id = d.app_id
JOIN dim_event_types t ON t.name = d.event_type;
