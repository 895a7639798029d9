-- The migration runner (shared/databases.ts) drops app_version and received_at from every event partition
-- (each partition is rewritten) and rebuilds the telemetry_events view without them, first.
SELECT 1;
