-- The crash partitions' crash_id indexes go back to crash_id alone first (migration runner, shared/databases.ts).
DROP TABLE app_event_types;
