-- Signing keys deactivated by the up migration stay inactive: they were never proven.
DROP TRIGGER app_versions_package_released_on_update;
DROP TRIGGER app_versions_package_released_on_delete;
DROP INDEX idx_versions_package;
ALTER TABLE app_versions DROP COLUMN package_uploaded_at;
ALTER TABLE app_versions DROP COLUMN signing_key_id;
ALTER TABLE app_versions DROP COLUMN package_sha256;
DROP TABLE package_uploaders;
DROP TABLE packages;
DROP INDEX idx_signing_keys_active_fingerprint;
