-- Event partitions gain two columns:
--   app_version TEXT      the app's own version, as the device sent it (optional; NULL when not sent)
--   received_at INTEGER   Unix ms, the server clock of the group commit that stored the row
-- Partitions are tables created at run time, so the migration runner (shared/databases.ts) adds the columns
-- to the partitions that exist (ALTER TABLE ADD COLUMN: a schema change only, no row is rewritten) and
-- rebuilds the telemetry_events view over them; ingest's store/partitions.ts creates new partitions with
-- them. Rows stored before this migration read NULL in both.
SELECT 1;
