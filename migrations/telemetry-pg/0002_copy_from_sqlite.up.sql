-- Moving a box from telemetry.db (ops telemetry-migrate, store/postgres/copy-from-sqlite.ts): how far each
-- telemetry.db raw partition has been copied, written in the transaction of each copied batch, so a run cut
-- short resumes where it stopped and a second run copies nothing twice.
CREATE TABLE telemetry_copy_progress (
    source text PRIMARY KEY,              -- a telemetry.db partition (telemetry_events_2026_11, ...)
    last_id bigint NOT NULL,              -- its last row id copied
    rows bigint NOT NULL,                 -- rows copied from it (within retention)
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Events stored on SQLite before its migration 0005 have no received_at: copied, they keep none (the API
-- answers null for them, as on SQLite). The writer always sets it.
ALTER TABLE telemetry_events ALTER COLUMN received_at DROP NOT NULL;
