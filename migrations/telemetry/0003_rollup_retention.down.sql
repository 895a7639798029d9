DROP TABLE IF EXISTS retention_watermark;
DROP TABLE IF EXISTS job_leases;
DROP TABLE IF EXISTS job_runs;
DROP TABLE IF EXISTS crash_daily_devices;
DROP TABLE IF EXISTS crash_daily;
