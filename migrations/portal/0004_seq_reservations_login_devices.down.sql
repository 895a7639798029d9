-- Back to 0003: the three tables without seq (rows and ids kept), no reservations, no login devices.
PRAGMA defer_foreign_keys = ON;

DROP TABLE login_devices;
DROP TABLE package_reservations;

DROP INDEX idx_apps_developer;
CREATE INDEX idx_apps_developer ON apps(developer_id, created_at, id);

CREATE TABLE app_versions_old (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    version_code INTEGER NOT NULL,
    version_name TEXT NOT NULL,
    package_url TEXT NOT NULL,
    package_size INTEGER NOT NULL,
    signature TEXT NOT NULL,
    permissions TEXT NOT NULL DEFAULT '[]',
    min_mosis_version TEXT,
    release_notes TEXT,
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'review', 'approved', 'published', 'rejected')),
    review_notes TEXT,
    published_at TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (app_id, version_code)
);
INSERT INTO app_versions_old (id, app_id, version_code, version_name, package_url, package_size, signature, permissions,
                              min_mosis_version, release_notes, status, review_notes, published_at, created_at)
SELECT id, app_id, version_code, version_name, package_url, package_size, signature, permissions, min_mosis_version,
       release_notes, status, review_notes, published_at, created_at
FROM app_versions ORDER BY seq;
DROP TABLE app_versions;
ALTER TABLE app_versions_old RENAME TO app_versions;
CREATE INDEX idx_versions_status ON app_versions(status);

CREATE TABLE signing_keys_old (
    id TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL REFERENCES developers(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO signing_keys_old (id, developer_id, name, public_key, fingerprint, is_active, created_at)
SELECT id, developer_id, name, public_key, fingerprint, is_active, created_at FROM signing_keys ORDER BY seq;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_old RENAME TO signing_keys;
CREATE INDEX idx_signing_keys_developer ON signing_keys(developer_id);
CREATE INDEX idx_signing_keys_fingerprint ON signing_keys(fingerprint);

CREATE TABLE api_keys_old (
    id TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL REFERENCES developers(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    key_prefix TEXT NOT NULL,
    permissions TEXT NOT NULL DEFAULT '[]',
    last_used_at TEXT,
    expires_at TEXT,
    revoked_at TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO api_keys_old (id, developer_id, name, key_hash, key_prefix, permissions, last_used_at, expires_at, revoked_at, created_at)
SELECT id, developer_id, name, key_hash, key_prefix, permissions, last_used_at, expires_at, revoked_at, created_at
FROM api_keys ORDER BY seq;
DROP TABLE api_keys;
ALTER TABLE api_keys_old RENAME TO api_keys;
CREATE UNIQUE INDEX idx_api_keys_hash ON api_keys(key_hash);
CREATE INDEX idx_api_keys_developer ON api_keys(developer_id);
CREATE INDEX idx_api_keys_prefix ON api_keys(key_prefix);
