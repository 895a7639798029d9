-- Month partitions and the views over them are dropped by the migration runner first (their names are
-- only known at run time: see telemetry_partitions).
DROP TABLE rollup_dirty;
DROP TABLE telemetry_daily;
DROP TABLE telemetry_partitions;
DROP TABLE dim_event_types;
DROP TABLE dim_apps;
