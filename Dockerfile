# Mosis portal backend: core API (8080) and ingest (8081) under Litestream, in one image.
#
#   docker build -t mosis-portal .
#   docker run -d -p 8080:8080 -p 8081:8081 -v mosis-data:/data -v mosis-backups:/backups mosis-portal
#
# On a Synology NAS use docker-compose.yml beside this file. Build for the NAS's CPU (x86-64 or ARM64):
# the Litestream binary comes from the npm package matching the build platform.

# ---- build: install, compile, then drop dev dependencies ------------------------------------------
FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles its native addon where no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
RUN npm install -g pnpm@12.4.2
WORKDIR /app

# Manifests first, so that a code change does not reinstall dependencies.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/shared/package.json packages/shared/
COPY packages/core-api/package.json packages/core-api/
COPY packages/ingest/package.json packages/ingest/
COPY packages/ops/package.json packages/ops/
RUN pnpm install --frozen-lockfile

COPY tsconfig.base.json tsconfig.json ./
COPY packages packages
COPY migrations migrations
RUN pnpm exec tsc -b
# Then keep only what runs: no sources, compiled tests or build info, production dependencies only
# (typescript, vitest and autocannon go).
RUN rm -rf packages/*/src packages/*/tsconfig.json packages/*/tsconfig.tsbuildinfo \
 && find packages -path '*/dist/*' -name '*.test.*' -delete \
 && pnpm install --prod --frozen-lockfile --offline
# The Litestream binary of the npm package for this platform (its `litestream` bin is a Node wrapper).
RUN cp packages/ops/node_modules/@flydotio/litestream/../litestream-linux-*/litestream /usr/local/bin/litestream \
 && /usr/local/bin/litestream version

# ---- runtime -----------------------------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    DATA_DIR=/data \
    BACKUP_DIR=/backups \
    LITESTREAM_CONFIG=/app/litestream.yml \
    LITESTREAM=true \
    HOST=0.0.0.0 \
    CORE_PORT=8080 \
    INGEST_PORT=8081
WORKDIR /app
COPY --from=build /usr/local/bin/litestream /usr/local/bin/litestream
COPY --from=build /app /app
COPY litestream.yml ./
COPY docker/entrypoint.sh docker/healthcheck.mjs docker/
# `mosis-ops <command>` for `docker exec` (a wrapper: the CLI runs only when started by its real path).
COPY docker/mosis-ops /usr/local/bin/mosis-ops
# The image's own user (uid 1000, `node`); the volumes must be writable by it (see docker-compose.yml).
RUN mkdir -p /data /backups && chown node:node /data /backups
USER node
VOLUME ["/data", "/backups"]
EXPOSE 8080 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "/app/docker/healthcheck.mjs"]
# Restores missing databases from their replicas, then runs Litestream, which runs the launcher, which
# runs both services. `docker stop` sends SIGTERM to Litestream: it forwards it, waits for the services
# to stop and syncs a last time.
ENTRYPOINT ["/app/docker/entrypoint.sh"]
