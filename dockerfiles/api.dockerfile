# syntax=docker/dockerfile:1
# API image: the inference service for Cloud Run, as the esbuild bundle `pnpm --filter @tfmlops/serve build` makes
# (`node dist/server.cjs`: no TypeScript loader at run time, about a third of the start-up CPU of `pnpm serve`).
#
#   docker build -f dockerfiles/api.dockerfile -t api:latest .
#   docker run -p 8080:8080 -e MODEL_URI=gs://bucket/models/exp1/latest.json api:latest
#   docker run -p 8080:8080 --read-only -v "$PWD/artifacts:/app/artifacts:ro" api:latest
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
RUN pnpm fetch --ignore-scripts --store-dir /pnpm-store
COPY package.json tsconfig.base.json tsconfig.json ./
COPY packages/ packages/
# The service and the workspace packages it uses, with dev dependencies (esbuild, tsx), offline from the store;
# scripts off (the native TF.js packages are built on their own below, the git hooks have no repository here).
# Then the bundle: dist/server.cjs, dist/drift-worker.cjs and dist/externals.json (what the bundles import from
# node_modules).
RUN pnpm install --frozen-lockfile --offline --ignore-scripts --store-dir /pnpm-store --filter "@tfmlops/serve..." \
 && pnpm --filter @tfmlops/serve build
# The service package with its production dependencies only, at the lockfile's versions, offline from the store;
# the workspace packages it uses are copied in (injected) rather than linked; then the bundles (deploy leaves dist/
# out, as git ignores it).
RUN pnpm --config.inject-workspace-packages=true --filter @tfmlops/serve deploy --prod --offline --ignore-scripts \
      --store-dir /pnpm-store /out \
 && rm -rf /out/dist && cp -r packages/serve/dist /out/dist
COPY dockerfiles/install-native.sh /usr/local/bin/install-native
COPY dockerfiles/prune-deploy.mjs /usr/local/lib/prune-deploy.mjs
# The native TF.js CPU package (optional: wasm where it does not install). Then only what the bundle loads stays:
# the packages it leaves external (sharp and its libvips, TF.js with the wasm backend's .wasm files, the GCS SDK,
# swagger-ui's assets, pino-pretty), tfjs-node if it loads; not the workspace sources, tsx or esbuild, nor the 53 MB of
# MNIST files @tfmlops/data carries. Source maps and type declarations go too.
RUN install-native "${NATIVE}" optional /out \
 && node /usr/local/lib/prune-deploy.mjs /out --keep-if-loads @tensorflow/tfjs-node \
 && rm -rf /out/src /out/scripts /out/pnpm-lock.yaml /out/dist/*.map \
 && find /out/node_modules/.pnpm \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -type f -delete \
 && test -f /out/dist/server.cjs && test -f /out/dist/drift-worker.cjs && test -f /out/public/index.html

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
# /app: dist/ (the bundles), public/ (the page, found one level up from dist/), node_modules/ (what dist/ imports).
COPY --from=build /out /app
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 with no shell in between, so SIGTERM reaches the server, which drains and exits within 10 s.
ENTRYPOINT ["node", "dist/server.cjs"]
