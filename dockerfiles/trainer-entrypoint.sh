#!/bin/sh
# The trainer image's entrypoint (under tini, which forwards signals):
#
#   docker run --gpus all trainer:latest                          pnpm train --config configs/exp1.yaml
#   docker run --gpus all trainer:latest --config exp2.yaml k=v   pnpm train --config exp2.yaml k=v
#   docker run --gpus all trainer:latest train.epochs=3           exp1 with an override
#   docker run ... trainer:latest <script> [args]                 any root package.json script: train, evaluate,
#                                                                 data, doctor, gpu-check, ...
#   docker run ... trainer:latest healthcheck                     the image's HEALTHCHECK (see below)
#   docker run ... trainer:latest <command> [args]                anything else runs as a command (bash, ls, ...)
#
# A script of the form `node <args>` (every root TypeScript script is `node --import tsx <file>`) runs in place of
# this shell, so node is the only process below tini and receives SIGTERM/SIGINT itself (training checkpoints and
# exits 143/130); `pnpm <script>` would put pnpm and a shell in between.
#
# TFMLOPS_BACKEND (read by configs/exp1.yaml's runtime.backend) defaults to the backend this image was built for
# (TFMLOPS_NATIVE: gpu -> tensorflow-gpu, cpu -> tensorflow, none -> wasm): a GPU image on a machine where the GPU
# stack does not work stops with the reason instead of training on wasm. Set TFMLOPS_BACKEND=auto to allow that.
set -eu
# The image's workspace; a variable only so the tests can run this script outside the image.
app=${TFMLOPS_APP_DIR:-/app}
cd "$app"

if [ -z "${TFMLOPS_BACKEND:-}" ]; then
  case "${TFMLOPS_NATIVE:-none}" in
    gpu) TFMLOPS_BACKEND=tensorflow-gpu ;;
    cpu) TFMLOPS_BACKEND=tensorflow ;;
    *) TFMLOPS_BACKEND=wasm ;;
  esac
  export TFMLOPS_BACKEND
fi

# No arguments, or a flag / key=value first: train.
if [ $# -eq 0 ]; then
  set -- train
else
  case "$1" in
    -* | *=*) set -- train "$@" ;;
  esac
fi
command=$1
shift

if [ "$command" = healthcheck ]; then
  # The doctor starts every backend for real; healthy means the one this image trains on works here.
  report=$(pnpm run --silent doctor --json) || true
  printf '%s' "$report" | node "$app/dockerfiles/trainer-healthcheck.mjs"
  exit $?
fi

if [ "$command" = train ]; then
  # exp1 unless a config (or a run to resume) is named.
  named=no
  for arg in "$@"; do
    case "$arg" in
      --config | --config=* | -c | --resume | --resume=*) named=yes ;;
    esac
  done
  if [ "$named" = no ]; then
    set -- --config configs/exp1.yaml "$@"
  fi
fi

script=$(node -p 'require(process.argv[1]).scripts[process.argv[2]] ?? ""' "$app/package.json" "$command")
case "$script" in
  "node "*)
    # shellcheck disable=SC2086 # a package.json script: plain words, no quotes or globs
    set -- ${script#node } "$@"
    exec node "$@"
    ;;
  "") exec "$command" "$@" ;;
  *) exec pnpm run --silent "$command" "$@" ;;
esac
