# Mosis portal backend: core API (8080) and ingest (8081) under Litestream, in one image.
#
#   docker build -t mosis-portal .
#   docker run -d -p 8080:8080 -p 8081:8081 -v mosis-data:/data -v mosis-backups:/backups mosis-portal
#
# On a Synology NAS use docker-compose.yml beside this file.

# ---- build: install everything, compile ---------------------------------------------------------------
FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles its native addon where no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
RUN npm install -g pnpm@12.4.2
WORKDIR /src

# Manifests first, so that a code change does not reinstall dependencies.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/shared/package.json packages/shared/
COPY packages/core-api/package.json packages/core-api/
COPY packages/ingest/package.json packages/ingest/
COPY packages/ops/package.json packages/ops/
RUN pnpm install --frozen-lockfile
COPY tsconfig.base.json tsconfig.json ./
COPY packages packages
RUN pnpm exec tsc -b

# ---- the image's tree: production dependencies and compiled code only --------------------------------
# A second install from the store the first one filled: no typescript, vitest or autocannon. The launcher
# finds the services and the migrations by their places in the workspace, so the layout stays.
WORKDIR /app
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/shared/package.json packages/shared/
COPY packages/core-api/package.json packages/core-api/
COPY packages/ingest/package.json packages/ingest/
COPY packages/ops/package.json packages/ops/
RUN pnpm install --prod --frozen-lockfile --offline \
 && for p in shared core-api ingest ops; do cp -r "/src/packages/$p/dist" "packages/$p/"; done \
 && find packages -path '*/dist/*' -name '*.test.*' -delete
COPY migrations migrations
COPY litestream.yml ./
COPY docker docker

# Litestream: the binary of the npm package @flydotio/litestream for this platform (its `litestream` bin
# is a Node wrapper that forwards neither signals nor exit codes). The lockfile, made on x86-64, holds the
# linux-x64 build; on an ARM64 NAS the build fetches the linux-arm64 build of the same version.
RUN arch=$(node -p process.arch) \
 && bin=packages/ops/node_modules/@flydotio/litestream/../litestream-linux-$arch/litestream \
 && if [ ! -x "$bin" ]; then \
      npm pack --silent "@flydotio/litestream-linux-$arch@1.0.1" \
      && tar -xzf "flydotio-litestream-linux-$arch-1.0.1.tgz" && bin=package/litestream; \
    fi \
 && cp "$bin" /usr/local/bin/litestream \
 && rm -rf package flydotio-litestream-*.tgz \
 && litestream version

# ---- runtime ------------------------------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    DATA_DIR=/data \
    BACKUP_DIR=/backups \
    LITESTREAM_CONFIG=/app/litestream.yml \
    LITESTREAM=true \
    HOST=0.0.0.0 \
    CORE_PORT=8080 \
    INGEST_PORT=8081
COPY --from=build /usr/local/bin/litestream /usr/local/bin/litestream
COPY --from=build /app /app
# `mosis-ops <command>` for `docker exec` (a wrapper: the CLI runs only when started by its real path).
RUN ln -s /app/docker/mosis-ops /usr/local/bin/mosis-ops \
 && mkdir -p /data /backups && chown node:node /data /backups
WORKDIR /app
# The image's own user (uid 1000, `node`); the volumes must be writable by it (see docker-compose.yml).
USER node
VOLUME ["/data", "/backups"]
EXPOSE 8080 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "/app/docker/healthcheck.mjs"]
# Restores missing databases from their replicas, then becomes Litestream, which runs the launcher, which
# runs both services. `docker stop` sends SIGTERM to Litestream: it forwards it, waits for the services
# to stop and syncs a last time.
ENTRYPOINT ["/app/docker/entrypoint.sh"]
