-- Uploaded packages (issue 11). Columns and tables are added, never rebuilt, so that this applies after any
-- rebuild of app_versions or signing_keys in an earlier migration.

-- 1. Proof of possession. A key registered before this migration was never proven to be its registrant's
-- (anyone could register anyone's public key), so none stays active: the developer registers it again with a
-- proof. No version had a verified package before, so no signature depends on them. Each developer's audit
-- trail says why.
INSERT INTO audit_logs (developer_id, action, resource_type, resource_id, details, user_agent)
SELECT developer_id, 'signing_key.deactivated', 'signing_key', id,
       json_object('fingerprint', fingerprint, 'reason', 'registered without proof of possession; register it again with a proof'),
       'migration 0005_packages'
FROM signing_keys WHERE is_active = 1;
UPDATE signing_keys SET is_active = 0 WHERE is_active = 1;

-- A fingerprint is active on one account at most, whatever races the insert.
CREATE UNIQUE INDEX idx_signing_keys_active_fingerprint ON signing_keys(fingerprint) WHERE is_active = 1;

-- 2. Package files, content-addressed: DATA_DIR/packages/<first two hex digits>/<sha256>, one row per file.
-- A version references its bytes by app_versions.package_sha256 (reference counting by versions: a file is
-- kept while any version names it). unreferenced_since is set by the triggers below when the last version
-- lets go, and cleared when one takes it again; the garbage collector removes the file a grace period later
-- (removed_at) and the row, with the backup copy, once that backup is older than the replicas' retention.
CREATE TABLE packages (
    sha256 TEXT PRIMARY KEY,              -- lower-case hex SHA-256 of the bytes
    size INTEGER NOT NULL,
    stored_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    unreferenced_since TEXT,              -- NULL while a version references it
    removed_at TEXT                       -- the file was removed (the backup copy is kept a while longer)
) WITHOUT ROWID;
CREATE INDEX idx_packages_unreferenced ON packages(unreferenced_since) WHERE unreferenced_since IS NOT NULL;

-- Who uploaded which bytes: the audit row of a package's removal goes to each of them.
CREATE TABLE package_uploaders (
    sha256 TEXT NOT NULL,
    developer_id TEXT NOT NULL,
    PRIMARY KEY (sha256, developer_id)
) WITHOUT ROWID;

-- The verified package of a version: NULL until an upload's signature verified. package_size is then the
-- real size. No REFERENCES clauses: SQLite cannot drop a column that has one, and the down migration must.
ALTER TABLE app_versions ADD COLUMN package_sha256 TEXT;
ALTER TABLE app_versions ADD COLUMN signing_key_id TEXT;
ALTER TABLE app_versions ADD COLUMN package_uploaded_at TEXT;
CREATE INDEX idx_versions_package ON app_versions(package_sha256) WHERE package_sha256 IS NOT NULL;

-- The last version to let go of a package (deleted, by itself or with its app; or given other bytes) starts
-- its grace period. ON DELETE CASCADE from apps fires these too.
CREATE TRIGGER app_versions_package_released_on_delete AFTER DELETE ON app_versions
WHEN OLD.package_sha256 IS NOT NULL
BEGIN
    UPDATE packages SET unreferenced_since = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE sha256 = OLD.package_sha256 AND unreferenced_since IS NULL
      AND NOT EXISTS (SELECT 1 FROM app_versions WHERE package_sha256 = OLD.package_sha256);
END;

CREATE TRIGGER app_versions_package_released_on_update AFTER UPDATE OF package_sha256 ON app_versions
WHEN OLD.package_sha256 IS NOT NULL AND OLD.package_sha256 IS NOT NEW.package_sha256
BEGIN
    UPDATE packages SET unreferenced_since = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE sha256 = OLD.package_sha256 AND unreferenced_since IS NULL
      AND NOT EXISTS (SELECT 1 FROM app_versions WHERE package_sha256 = OLD.package_sha256);
END;
