DROP TABLE audit_logs;
DROP TABLE signing_keys;
DROP TABLE app_versions;
DROP TABLE apps;
DROP TABLE api_keys;
DROP TABLE developers;
