#!/bin/sh
# Container start-up: restore each database that is missing from its replica, then run both services
# under Litestream (the launcher: one Node process for both). Litestream becomes this process (exec), so
# `docker stop`'s SIGTERM reaches it: it forwards the signal to the launcher, waits for both services to
# stop, syncs a last time and exits.
#
# Settings (the image sets them; tests point them at temporary directories):
#   DATA_DIR (/data), BACKUP_DIR (/backups), LITESTREAM_BIN (litestream on PATH), LITESTREAM_CONFIG
#   (unset: litestream.yml, or litestream-offsite-sftp.yml / -s3.yml when OFFSITE_* is set).
set -eu

APP_DIR=$(cd "$(dirname "$0")/.." && pwd)
OPS="$APP_DIR/packages/ops/dist/cli.js"
DATA_DIR=${DATA_DIR:-/data}
BACKUP_DIR=${BACKUP_DIR:-/backups}
LITESTREAM_BIN=${LITESTREAM_BIN:-litestream}
# The services leave WAL checkpoints to Litestream (packages/shared/src/db.ts).
LITESTREAM=true
export DATA_DIR BACKUP_DIR LITESTREAM
# The ops command line chooses the config as every ops command does, and stops here with a message
# naming a bad OFFSITE_* variable.
CONFIG=$(node "$OPS" litestream-config) || exit 2
# V8's semi-space size for the launcher's Node (nodeFlags() in launcher.ts). The launcher refuses one outside
# 1-64; what is not a number at all stops here, before Node would be given it as a flag.
SEMI_SPACE_MIB=${V8_SEMI_SPACE_MIB:-4}
case $SEMI_SPACE_MIB in
  '' | *[!0-9]*) echo "entrypoint: V8_SEMI_SPACE_MIB must be a whole number of MiB from 1 to 64 (got ${#SEMI_SPACE_MIB} characters)" >&2; exit 2 ;;
esac

mkdir -p "$DATA_DIR" "$BACKUP_DIR"
fresh=
for db in portal telemetry; do
  path="$DATA_DIR/$db.db"
  if [ ! -e "$path" ]; then
    fresh=1
    # Leftovers of a deleted database: SQLite would replay an old WAL into the restored file, and
    # Litestream's shadow directory describes a database that is gone.
    rm -rf "$path-wal" "$path-shm" "$DATA_DIR/.$db.db-litestream"
    "$LITESTREAM_BIN" restore -config "$CONFIG" -if-db-not-exists -if-replica-exists "$path"
    rm -f "$path.tmp-wal" "$path.tmp-shm"
    if [ -e "$path" ]; then echo "entrypoint: $db.db restored from its replica"; else echo "entrypoint: $db.db is new"; fi
  fi
done

# A fresh data volume: the package files, and the device-hash secret when the backups lack it too, come
# back from the off-site SFTP replica (Litestream copies only the databases). A far side that is down
# does not stop the start.
if [ -n "$fresh" ] && [ -n "${OFFSITE_SFTP_HOST:-}" ]; then
  if ! node "$OPS" offsite-sync --pull; then
    echo "entrypoint: WARNING: nothing restored from the off-site replica; run \`mosis-ops offsite-sync --pull\` once it answers"
  fi
fi

# The device-hash secret is a file, not a database: Litestream does not replicate it. Keep a copy beside
# the replicas (restored from there when the data volume was lost), or unique-device counts would split
# between the old and a newly generated secret. Skipped when DEVICE_HASH_SECRET is set.
secret="$DATA_DIR/device-hash.secret"
if [ -z "${DEVICE_HASH_SECRET:-}" ]; then (
  umask 077
  if [ ! -s "$secret" ] && [ -s "$BACKUP_DIR/device-hash.secret" ]; then
    cp "$BACKUP_DIR/device-hash.secret" "$secret"
    echo "entrypoint: device-hash.secret restored from $BACKUP_DIR"
  elif [ ! -s "$secret" ]; then
    # Generated here rather than by ingest so that the copy below exists from the first start.
    head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n' > "$secret" && echo >> "$secret"
  fi
  cp "$secret" "$BACKUP_DIR/device-hash.secret"
) fi

# The launcher's Node flags, and its malloc settings and Litestream's GOMEMLIMIT (the Dockerfile's ENV): see
# nodeFlags() and MALLOC_ENV in launcher.ts, LITESTREAM_ENV in litestream.ts.
exec "$LITESTREAM_BIN" replicate -config "$CONFIG" -exec "node --max-semi-space-size=$SEMI_SPACE_MIB '$APP_DIR/packages/ops/dist/launcher.js'"
