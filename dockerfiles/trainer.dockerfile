# syntax=docker/dockerfile:1
# Trainer image: `docker run --gpus all trainer:latest --config exp1.yaml train.epochs=3`; no arguments trains exp1.
#
#   docker build -f dockerfiles/trainer.dockerfile -t trainer:latest .
#   docker run --gpus all -v cuda-cache:/var/cache/tfmlops/cuda -v "$PWD/artifacts:/app/artifacts" \
#     -v "$PWD/runs:/app/runs" -e WANDB_API_KEY trainer:latest --config exp1.yaml train.epochs=3
#   docker run --gpus all trainer:latest gpu-check        # first thing to run on a new GPU VM
#
# Build arguments:
#   BASE        a glibc CUDA runtime image with cuDNN. @tensorflow/tfjs-node-gpu 4.22 runs libtensorflow 2.9.1, built
#               for CUDA 11.2 + cuDNN 8.1; 11.2.2-cudnn8 carries cuDNN 8.1.1. Not Alpine (musl): libtensorflow and
#               the prebuilt addon are glibc binaries. NVIDIA deletes old tags from Docker Hub over time; should this
#               one go, a later CUDA 11 runtime with cuDNN 8 (nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04) has the
#               same library sonames and works through CUDA 11's minor-version compatibility.
#   NATIVE      gpu (default) | cpu | none: which native TF.js package is built. `none` gives a wasm-only image. A
#               failed native install stops the build with the reason: a GPU image never silently trains on wasm.
#   TFJS_NODE_CDN_STORAGE, TFJS_NODE_BASE_URI, npm_config_tfjs_binding_binary_host_mirror
#               mirrors for libtensorflow and the prebuilt addon (storage.googleapis.com otherwise); see
#               dockerfiles/install-native.sh.
# Credentials come only from the environment at run time (GOOGLE_APPLICATION_CREDENTIALS or the VM's service
# account for gs://, WANDB_API_KEY for Weights & Biases); nothing secret is baked into a layer.
ARG BASE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04
ARG NODE_IMAGE=node:20-bookworm-slim

# Node 20 comes from the official image: the CUDA images ship no Node, and NodeSource's apt repository is one more
# network dependency. Its binaries need glibc >= 2.28 (Ubuntu 20.04 has 2.31).
FROM ${NODE_IMAGE} AS node

FROM ${BASE} AS trainer
ARG NATIVE=gpu
ARG PNPM_VERSION=10
ARG TFJS_NODE_CDN_STORAGE=
ARG TFJS_NODE_BASE_URI=
ARG npm_config_tfjs_binding_binary_host_mirror=
LABEL org.opencontainers.image.title="tfjs-mlops trainer" \
      org.opencontainers.image.description="pnpm train on tfjs-node-gpu (CUDA 11.2, cuDNN 8), tfjs-node or wasm"

# tini forwards signals to node (a PID 1 without handlers ignores SIGTERM); DejaVu fonts and fontconfig's
# configuration draw the labels in the evaluation PNGs (librsvg through sharp); ca-certificates for gs://, W&B and
# the npm registry. Nothing comes from NVIDIA's apt repository, whose signing key older CUDA images do not have
# (apt-get update fails on it), so its source lists go first.
RUN rm -f /etc/apt/sources.list.d/cuda*.list /etc/apt/sources.list.d/nvidia-ml*.list \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates fontconfig-config fonts-dejavu-core tini \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && npm install -g "pnpm@${PNPM_VERSION}" \
 && node --version && pnpm --version

WORKDIR /app
# The lockfile and the package manifests alone decide the dependency layers, so a source change reuses them.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/core/package.json packages/core/
COPY packages/data/package.json packages/data/
COPY packages/model/package.json packages/model/
COPY packages/runtime/package.json packages/runtime/
COPY packages/serve/package.json packages/serve/
# Scripts off: pnpm would try both native packages' downloads (and the git hooks); the one native package asked
# for is built next, on its own, where a failure can stop the build.
RUN --mount=type=cache,id=tfmlops-pnpm-store,target=/pnpm-store \
    pnpm install --frozen-lockfile --ignore-scripts --store-dir /pnpm-store --package-import-method copy
COPY dockerfiles/install-native.sh /usr/local/bin/install-native
RUN install-native "${NATIVE}" required packages/runtime

COPY tsconfig.base.json tsconfig.json ./
COPY packages/ packages/
COPY configs/ configs/
COPY dockerfiles/trainer-entrypoint.sh dockerfiles/trainer-healthcheck.mjs dockerfiles/

# Runs, bundles, prepared data and reports land under /app (mount them to keep them); world-writable so the image
# also runs as `--user "$(id -u):$(id -g)"` on mounted host directories.
RUN mkdir -p runs artifacts data reports /var/cache/tfmlops/cuda \
 && chmod 1777 runs artifacts data reports /var/cache/tfmlops/cuda
# The commit last: a build argument's value is part of the cache key of every RUN after its ARG, so declared at the top
# it would reinstall the dependencies on every commit.
ARG GIT_COMMIT=unknown
LABEL org.opencontainers.image.revision="${GIT_COMMIT}"
# libtensorflow 2.9.1 has no machine code for compute capability >= 8.0 (A100, L4, H100): the driver JIT-compiles
# its PTX on start, for minutes, and keeps the result in CUDA_CACHE_PATH (at most 4 GiB). Mount a named volume there
# so that happens once per machine, not once per container. TF_FORCE_GPU_ALLOW_GROWTH keeps TensorFlow from
# claiming the whole GPU, so the health check's doctor (its own process) can start beside a training run.
ENV TFMLOPS_NATIVE=${NATIVE} \
    GIT_COMMIT=${GIT_COMMIT} \
    CUDA_CACHE_PATH=/var/cache/tfmlops/cuda \
    CUDA_CACHE_MAXSIZE=4294967296 \
    TF_FORCE_GPU_ALLOW_GROWTH=true
VOLUME ["/var/cache/tfmlops/cuda"]

# `pnpm run doctor` starts every backend for real; the check passes when the image's own backend starts.
HEALTHCHECK --interval=5m --timeout=90s --start-period=30s --retries=2 \
  CMD ["/app/dockerfiles/trainer-entrypoint.sh", "healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--", "/app/dockerfiles/trainer-entrypoint.sh"]
CMD []
