-- 1. A total, creation-ordered key for every list. api_keys, signing_keys and app_versions had only a random
-- UUID besides created_at, so rows of the same millisecond listed in random order and cursors skipped or
-- repeated them. Each table is rebuilt with seq INTEGER PRIMARY KEY (the rowid: a new row gets max + 1, so seq
-- order is creation order); id stays the public key. Existing rows keep their id and get seq in
-- (created_at, id) order, the order they listed in before.
--
-- No table references these three, and every copied row's references already hold; checking foreign keys at
-- COMMIT rather than after each step is what SQLite's table-rebuild procedure asks for.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE api_keys_new (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    developer_id TEXT NOT NULL REFERENCES developers(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL,               -- hex SHA-256 of the whole key
    key_prefix TEXT NOT NULL,             -- for display: "mk_abc123"
    permissions TEXT NOT NULL DEFAULT '[]',
    last_used_at TEXT,
    expires_at TEXT,
    revoked_at TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO api_keys_new (seq, id, developer_id, name, key_hash, key_prefix, permissions, last_used_at, expires_at, revoked_at, created_at)
SELECT row_number() OVER (ORDER BY created_at, id), id, developer_id, name, key_hash, key_prefix, permissions, last_used_at,
       expires_at, revoked_at, created_at
FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_new RENAME TO api_keys;
CREATE UNIQUE INDEX idx_api_keys_hash ON api_keys(key_hash);
CREATE INDEX idx_api_keys_developer ON api_keys(developer_id, seq);
CREATE INDEX idx_api_keys_prefix ON api_keys(key_prefix);

CREATE TABLE signing_keys_new (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    developer_id TEXT NOT NULL REFERENCES developers(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,            -- hex SHA-256 of the raw public key
    is_active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO signing_keys_new (seq, id, developer_id, name, public_key, fingerprint, is_active, created_at)
SELECT row_number() OVER (ORDER BY created_at, id), id, developer_id, name, public_key, fingerprint, is_active, created_at
FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_new RENAME TO signing_keys;
CREATE INDEX idx_signing_keys_developer ON signing_keys(developer_id, seq);
CREATE INDEX idx_signing_keys_fingerprint ON signing_keys(fingerprint);

CREATE TABLE app_versions_new (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
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
INSERT INTO app_versions_new (seq, id, app_id, version_code, version_name, package_url, package_size, signature, permissions,
                              min_mosis_version, release_notes, status, review_notes, published_at, created_at)
SELECT row_number() OVER (ORDER BY created_at, id), id, app_id, version_code, version_name, package_url, package_size, signature,
       permissions, min_mosis_version, release_notes, status, review_notes, published_at, created_at
FROM app_versions;
DROP TABLE app_versions;
ALTER TABLE app_versions_new RENAME TO app_versions;
CREATE INDEX idx_versions_status ON app_versions(status, seq);

-- apps already has seq; its per-developer list now pages on it.
DROP INDEX idx_apps_developer;
CREATE INDEX idx_apps_developer ON apps(developer_id, seq);

-- 2. A deleted app's package_id stays its developer's: written in the same transaction as the delete and
-- never removed, so devices of an old app never report to a stranger's new one. No foreign key to
-- developers: the reservation outlives the account too.
CREATE TABLE package_reservations (
    package_id TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL,
    app_id TEXT NOT NULL,                 -- the deleted app that held it last
    reserved_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) WITHOUT ROWID;

-- 3. Devices a developer has logged in from: a login that presents one of these tokens is limited per
-- device, not by the per-account ceiling that others' failures fill. Only the token's SHA-256 is kept.
CREATE TABLE login_devices (
    seq INTEGER PRIMARY KEY,
    developer_id TEXT NOT NULL REFERENCES developers(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_used_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_login_devices_developer ON login_devices(developer_id, last_used_at);
