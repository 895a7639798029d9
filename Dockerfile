# Mosis portal backend: core API (8080) and ingest (8081) under Litestream, in one image.
#
#   docker build -t mosis-portal .
#   docker run -d -p 8080:8080 -p 8081:8081 -v mosis-data:/data -v mosis-backups:/backups mosis-portal
#
# On a Synology NAS use docker-compose.yml beside this file. `npm run test:image` builds and runs it.

# Base images: Debian 12 with Node 20 and a `node` user of uid 1000. Where none can be pulled,
# scripts/test-image.mjs passes locally made ones (--build-arg NODE_IMAGE=... BUILD_IMAGE=...).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG BUILD_IMAGE=node:20-bookworm-slim

# ---- build: install everything, compile ---------------------------------------------------------------
FROM ${BUILD_IMAGE} AS build
# better-sqlite3 compiles its native addon where no prebuilt binary fits (a base may bring the tools).
RUN if ! command -v python3 >/dev/null || ! command -v make >/dev/null || ! command -v g++ >/dev/null; then \
      apt-get update \
      && apt-get install -y --no-install-recommends python3 make g++ \
      && rm -rf /var/lib/apt/lists/*; \
    fi
RUN npm install -g pnpm@12.4.2
WORKDIR /src

# Manifests first, so that a code change does not reinstall dependencies.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/shared/package.json packages/shared/
COPY packages/core-api/package.json packages/core-api/
COPY packages/ingest/package.json packages/ingest/
COPY packages/ops/package.json packages/ops/
# node-gyp uses the headers that come with this Node (no download) when the base has them.
RUN prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")") \
 && if [ -f "$prefix/include/node/node.h" ]; then export npm_config_nodedir="$prefix"; fi \
 && JOBS=max pnpm install --frozen-lockfile
COPY tsconfig.base.json tsconfig.json ./
COPY packages packages
RUN pnpm exec tsc -b

# ---- the image's tree: production dependencies and compiled code only --------------------------------
# A second install from the store the first one filled: no typescript, vitest or autocannon. The launcher
# finds the services and the migrations by their places in the workspace, so the layout stays. Of
# better-sqlite3's build only the addon stays (its objects are 16 MB).
WORKDIR /app
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/shared/package.json packages/shared/
COPY packages/core-api/package.json packages/core-api/
COPY packages/ingest/package.json packages/ingest/
COPY packages/ops/package.json packages/ops/
RUN pnpm install --prod --frozen-lockfile --offline \
 && for p in shared core-api ingest ops; do cp -r "/src/packages/$p/dist" "packages/$p/"; done \
 && find packages -path '*/dist/*' -name '*.test.*' -delete \
 && addon=$(find node_modules/.pnpm -path '*/better-sqlite3/build/Release/better_sqlite3.node') \
 && mv "$addon" /tmp/ && rm -rf "${addon%/Release/*}"/* && mkdir -p "${addon%/*}" && mv /tmp/better_sqlite3.node "$addon"
COPY migrations migrations
COPY litestream.yml litestream-offsite-sftp.yml litestream-offsite-s3.yml ./
COPY docker docker

# Litestream: the binary of the npm package @flydotio/litestream for this platform (its `litestream` bin
# is a Node wrapper that forwards neither signals nor exit codes), moved onto PATH, where the ops commands
# look when the package has none. The lockfile, made on x86-64, holds the linux-x64 build; on an ARM64
# NAS the build fetches the linux-arm64 build of the same version.
RUN arch=$(node -p process.arch) \
 && bin=packages/ops/node_modules/@flydotio/litestream/../litestream-linux-$arch/litestream \
 && if [ ! -x "$bin" ]; then \
      npm pack --silent "@flydotio/litestream-linux-$arch@1.0.1" \
      && tar -xzf "flydotio-litestream-linux-$arch-1.0.1.tgz" && bin=package/litestream; \
    fi \
 && cp "$bin" /usr/local/bin/litestream \
 && rm -rf "$bin" package flydotio-litestream-*.tgz \
 && litestream version

# ---- runtime ------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
# sftp (OpenSSH's client) copies the package files to the off-site replica, checking the host key.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssh-client \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
# LITESTREAM_CONFIG is left unset: litestream.yml, or litestream-offsite-*.yml when OFFSITE_* is set.
ENV NODE_ENV=production \
    DATA_DIR=/data \
    BACKUP_DIR=/backups \
    LITESTREAM=true \
    HOST=0.0.0.0 \
    CORE_PORT=8080 \
    INGEST_PORT=8081 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    GOMEMLIMIT=24MiB
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
# Restores missing databases from their replicas, then becomes Litestream, which runs the launcher: one
# Node process running both services (SERVICES_IN_ONE_PROCESS=false: a child process each). `docker stop`
# sends SIGTERM to Litestream: it forwards it, waits for the services to stop and syncs a last time.
ENTRYPOINT ["/app/docker/entrypoint.sh"]
