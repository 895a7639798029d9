UPDATE telemetry_events SET received_at = 0 WHERE received_at IS NULL;
ALTER TABLE telemetry_events ALTER COLUMN received_at SET NOT NULL;
DROP TABLE telemetry_copy_progress;
