#!/usr/bin/env bash
# Builds the trainer and API images and runs them end to end with podman: the trainer trains exp1 for one epoch into
# a mounted directory, the API image serves the bundle it published (non-root, read-only root filesystem, 512 MB),
# passes its HEALTHCHECK, answers a real PNG of a 7 with the label 7, and stops within 10 s of SIGTERM. Prints both
# image sizes and the build times. Outside `pnpm test` (it takes minutes); .ci/run runs it where
# ../shared/tools/container-base.sh provides podman and local base images, and ci.yml's `containers` job runs it with
# the real base images.
#
#   bash tests/containers/run.sh
#
# Environment (defaults in brackets):
#   TRAINER_BASE    the trainer's BASE build argument [the Dockerfile's CUDA 11.2 / cuDNN 8 image]
#   NODE_IMAGE      the Node 20 image both files use [node:20-bookworm-slim]
#   TRAINER_NATIVE  gpu | cpu | none [gpu]; API_NATIVE cpu | none [cpu]
#   TRAIN_BACKEND   TFMLOPS_BACKEND for the training run [the image's own backend]; a GPU image on a machine
#                   without a GPU needs wasm here, asked for explicitly
#   TRAIN_ARGS      extra training arguments [train.epochs=1]
#   IMAGE_PREFIX    image names [localhost/tfmlops-test]
set -euo pipefail
cd "$(dirname "$0")/../.."

TRAINER_NATIVE=${TRAINER_NATIVE:-gpu}
API_NATIVE=${API_NATIVE:-cpu}
NODE_IMAGE=${NODE_IMAGE:-node:20-bookworm-slim}
TRAIN_ARGS=${TRAIN_ARGS:-train.epochs=1}
IMAGE_PREFIX=${IMAGE_PREFIX:-localhost/tfmlops-test}
TRAINER_IMAGE=$IMAGE_PREFIX-trainer:latest
API_IMAGE=$IMAGE_PREFIX-api:latest
STOP_BUDGET_SECONDS=10

if ! command -v podman >/dev/null 2>&1; then
  echo "containers: podman is not installed (Debian: apt-get install podman; this machine kind: ../shared/tools/container-base.sh)" >&2
  exit 1
fi

started=$(date +%s)
step() { printf '\n== containers: %s (%ss)\n' "$1" "$(($(date +%s) - started))"; }
fail() {
  echo "containers: FAILED: $*" >&2
  exit 1
}

work=$(mktemp -d)
api_container=tfmlops-test-api-$$
cleanup() {
  podman rm -f -t 0 "$api_container" >/dev/null 2>&1 || true
  # Files the containers wrote may belong to another uid; podman unshare is not needed as root.
  rm -rf "$work"
}
trap cleanup EXIT

step "build the trainer image (NATIVE=$TRAINER_NATIVE${TRAINER_BASE:+, BASE=$TRAINER_BASE})"
build_args=(--build-arg "NATIVE=$TRAINER_NATIVE" --build-arg "NODE_IMAGE=$NODE_IMAGE" --build-arg "GIT_COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)")
if [[ -n ${TRAINER_BASE:-} ]]; then build_args+=(--build-arg "BASE=$TRAINER_BASE"); fi
t0=$(date +%s)
podman build --format docker -f dockerfiles/trainer.dockerfile "${build_args[@]}" -t "$TRAINER_IMAGE" .
trainer_build=$(($(date +%s) - t0))

step "build the API image (NATIVE=$API_NATIVE)"
t0=$(date +%s)
podman build --format docker -f dockerfiles/api.dockerfile --build-arg "NATIVE=$API_NATIVE" \
  --build-arg "NODE_IMAGE=$NODE_IMAGE" -t "$API_IMAGE" .
api_build=$(($(date +%s) - t0))

# Both images keep their HEALTHCHECK only in the docker format; an OCI image would silently drop it.
for image in "$TRAINER_IMAGE" "$API_IMAGE"; do
  [[ $(podman image inspect --format '{{json .HealthCheck}}' "$image") != null ]] ||
    fail "$image has no HEALTHCHECK (build with --format docker)"
done

step "trainer: its health check (pnpm run doctor, the image's own backend)"
podman run --rm --no-healthcheck ${TRAIN_BACKEND:+-e "TFMLOPS_BACKEND=$TRAIN_BACKEND"} "$TRAINER_IMAGE" healthcheck

step "trainer: exp1 for one epoch into $work"
mkdir -p "$work/artifacts" "$work/runs"
t0=$(date +%s)
# shellcheck disable=SC2086 # TRAIN_ARGS is a list of key=value words
podman run --rm --no-healthcheck -v "$work/artifacts:/app/artifacts" -v "$work/runs:/app/runs" \
  ${TRAIN_BACKEND:+-e "TFMLOPS_BACKEND=$TRAIN_BACKEND"} "$TRAINER_IMAGE" $TRAIN_ARGS
train_seconds=$(($(date +%s) - t0))
latest=$work/artifacts/models/exp1/latest.json
[[ -f $latest ]] || fail "training published no bundle pointer at artifacts/models/exp1/latest.json: $(find "$work" -maxdepth 4 | head -n 20)"
echo "published: $(cat "$latest")"

step "API: serve the bundle (non-root, read-only root filesystem, --memory 512m)"
podman run -d --name "$api_container" --read-only --memory 512m -p 127.0.0.1::8080 \
  -v "$work/artifacts:/app/artifacts:ro" "$API_IMAGE" >/dev/null
uid=$(podman exec "$api_container" id -u)
[[ $uid != 0 ]] || fail "the API container runs as root"
port=$(podman port "$api_container" 8080 | head -n 1 | sed 's/.*://')

step "API: wait for its HEALTHCHECK (GET /readyz)"
t0=$(date +%s)
healthy=no
while (($(date +%s) - t0 < 120)); do
  if podman healthcheck run "$api_container" >/dev/null 2>&1; then
    healthy=yes
    break
  fi
  [[ $(podman inspect --format '{{.State.Running}}' "$api_container") == true ]] || break
  sleep 1
done
if [[ $healthy != yes ]]; then
  podman logs "$api_container" 2>&1 | tail -n 40 >&2
  fail "the API container did not become healthy within 120 s"
fi
ready_seconds=$(($(date +%s) - t0))

step "API: POST a real PNG of a 7 to /predict"
answer=$(curl -sS --fail-with-body -F file=@tests/delivery/fixtures/digit-7.png "http://127.0.0.1:$port/predict") ||
  fail "POST /predict: $answer"
echo "$answer"
label=$(node -e 'const a = JSON.parse(process.argv[1]); console.log(a.predictions?.[0]?.label ?? "")' "$answer")
[[ $label == 7 ]] || fail "the API answered '$label' for a 7"

step "API: SIGTERM stops it within ${STOP_BUDGET_SECONDS}s"
t0=$(date +%s%N)
podman kill --signal TERM "$api_container" >/dev/null
exit_code=$(timeout $((STOP_BUDGET_SECONDS + 5)) podman wait "$api_container" || echo timeout)
stop_ms=$((($(date +%s%N) - t0) / 1000000))
podman logs "$api_container" 2>&1 | tail -n 5
[[ $exit_code != timeout ]] || fail "still running $((STOP_BUDGET_SECONDS + 5)) s after SIGTERM"
((stop_ms <= STOP_BUDGET_SECONDS * 1000)) || fail "took ${stop_ms} ms to stop after SIGTERM"
[[ $exit_code == 0 || $exit_code == 143 ]] || fail "exited with $exit_code after SIGTERM"

size() { podman image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1000000 }'; }
step "done"
printf '%-44s %10s  built in %ss\n' "$TRAINER_IMAGE" "$(size "$TRAINER_IMAGE")" "$trainer_build" "$API_IMAGE" "$(size "$API_IMAGE")" "$api_build"
echo "trained one epoch in ${train_seconds}s; API healthy after ${ready_seconds}s; stopped ${stop_ms} ms after SIGTERM (exit $exit_code)"
