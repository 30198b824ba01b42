#!/usr/bin/env bash
# Builds the trainer and API images and runs them end to end with podman: the trainer trains exp1 for one epoch into
# a mounted directory, the API image serves the bundle it published (node dist/server.cjs as PID 1, non-root, read-only
# root filesystem, 512 MB), passes its HEALTHCHECK, answers a real PNG of a 7 (docs/digit.png) with the label 7, runs
# its drift worker, and stops within 10 s of SIGTERM. Prints both image sizes, the build times, the API container's
# cold start (container start to GET /readyz 200) and its RSS after a few requests, with the load average. Outside `pnpm test` (it takes minutes); .ci/run runs it where
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
#   COLD_STARTS     how many times the API container is started to time its cold start [3]; the last one is tested
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
COLD_STARTS=${COLD_STARTS:-3}

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

# A free port on the host, chosen here so the clock can start with the container (podman assigns `::8080` ports late).
port=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')

# Creates and starts the API container on the bundle (non-root, read-only root filesystem, 512 MB) and sets
# cold_start_ms: from `podman start` to the first GET /readyz 200 on the host.
# DRIFT_*: a small window tested every second, so a few requests show the drift worker (dist/drift-worker.cjs) runs.
start_api() {
  podman rm -f -t 0 "$api_container" >/dev/null 2>&1 || true
  podman create --name "$api_container" --read-only --memory 512m -p "127.0.0.1:$port:8080" \
    -e DRIFT_MIN_SAMPLES=5 -e DRIFT_INTERVAL_SECONDS=1 \
    -v "$work/artifacts:/app/artifacts:ro" "$API_IMAGE" >/dev/null
  local t0 polls=0 ready=no
  t0=$(date +%s%N)
  # (podman without systemd says it cannot schedule the health check; `podman healthcheck run` below runs it.)
  podman start "$api_container" 2> >(grep -v 'systemd connection' >&2) >/dev/null
  while (($(date +%s%N) - t0 < 120000000000)); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; then
      ready=yes
      break
    fi
    # `podman inspect` is slow next to a 20 ms poll: look at the container only now and then.
    if ((++polls % 25 == 0)) && [[ $(podman inspect --format '{{.State.Running}}' "$api_container") != true ]]; then break; fi
    sleep 0.02
  done
  cold_start_ms=$((($(date +%s%N) - t0) / 1000000))
  if [[ $ready != yes ]]; then
    podman logs "$api_container" 2>&1 | tail -n 40 >&2
    fail "GET /readyz did not answer 200 within 120 s of the container's start"
  fi
  # The server's own part: from the container's process start (podman's StartedAt) to its "ready" log line.
  local started ready_line
  started=$(podman inspect --format '{{.State.StartedAt.Format "2006-01-02T15:04:05.000Z07:00"}}' "$api_container")
  ready_line=$(podman logs "$api_container" 2>&1 | grep -m 1 '"model loaded and warmed up; ready"' || true)
  server_ready_ms=$(node -e 'console.log(Date.parse(JSON.parse(process.argv[2]).time) - Date.parse(process.argv[1]))' \
    "$started" "$ready_line" 2>/dev/null || echo '?')
}

step "API: cold start, container start to GET /readyz 200 (best of ${COLD_STARTS} starts; bundle from local disk)"
load_at_start=$(cut -d ' ' -f 1-3 /proc/loadavg)
# What podman and node alone take here: a container of the same image running `node -e 0`.
t0=$(date +%s%N)
podman run --rm --read-only --no-healthcheck --entrypoint node "$API_IMAGE" -e 0
baseline_ms=$((($(date +%s%N) - t0) / 1000000))
cold_starts=()
server_starts=()
for _ in $(seq "$COLD_STARTS"); do
  start_api
  cold_starts+=("$cold_start_ms")
  server_starts+=("$server_ready_ms")
done
best_cold_start_ms=$(printf '%s\n' "${cold_starts[@]}" | sort -n | head -n 1)
echo "container start to GET /readyz 200: ${cold_starts[*]} ms (best ${best_cold_start_ms} ms); a container running" \
  "\`node -e 0\` takes ${baseline_ms} ms; load average ${load_at_start}"
echo "node process start (podman StartedAt) to the server's 'ready' log line: ${server_starts[*]} ms"
podman logs "$api_container" 2>&1 | grep -E 'backend|ready' | head -n 5 || true

step "API: the process is node on the bundle, PID 1, not root"
uid=$(podman exec "$api_container" id -u)
[[ $uid != 0 ]] || fail "the API container runs as root"
pid1=$(podman exec "$api_container" cat /proc/1/cmdline | tr '\0' ' ')
echo "PID 1 (uid $uid): $pid1"
[[ $pid1 == "node dist/server.cjs " ]] || fail "PID 1 is '$pid1', not 'node dist/server.cjs'"

step "API: its HEALTHCHECK (podman healthcheck run: GET /readyz from inside)"
podman healthcheck run "$api_container" || fail "podman healthcheck run failed on a ready container"

step "API: POST a real PNG of a 7 (docs/digit.png) to /predict"
answer=$(curl -sS --fail-with-body -F file=@docs/digit.png "http://127.0.0.1:$port/predict") ||
  fail "POST /predict: $answer"
echo "$answer"
label=$(node -e 'const a = JSON.parse(process.argv[1]); console.log(a.predictions?.[0]?.label ?? "")' "$answer")
[[ $label == 7 ]] || fail "the API answered '$label' for a 7"

step "API: 20 more predictions; the drift worker scores them"
for _ in $(seq 20); do
  curl -sS --fail -o /dev/null -H 'content-type: image/png' --data-binary @docs/digit.png "http://127.0.0.1:$port/predict" ||
    fail "POST /predict (raw image/png body) failed"
done
drift=
for _ in $(seq 50); do
  drift=$(curl -sS "http://127.0.0.1:$port/monitoring/drift")
  scored=$(node -e 'const d = JSON.parse(process.argv[1]); console.log(d.rows?.length > 0 && d.rows.every((r) => r.score !== null) ? "yes" : "no")' "$drift")
  [[ $scored == yes ]] && break
  sleep 0.2
done
[[ $scored == yes ]] || fail "GET /monitoring/drift has no scores after 21 inputs (is dist/drift-worker.cjs in the image?): $drift"
node -e 'for (const r of JSON.parse(process.argv[1]).rows) console.log("  " + [r.feature, r.test, "n=" + r.n, "score=" + r.score].join(" "))' "$drift"
rss=$(podman exec "$api_container" grep -E '^Vm(RSS|HWM):' /proc/1/status | awk '{ printf "%s %.0f MB  ", $1, $2 / 1024 }')
echo "node (PID 1) after 21 predictions: $rss"

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
echo "trained one epoch in ${train_seconds}s"
echo "API cold start, container start to /readyz 200: ${cold_starts[*]} ms (best ${best_cold_start_ms}); node process start to ready: ${server_starts[*]} ms; a node -e 0 container: ${baseline_ms} ms; load average ${load_at_start}"
echo "API after 21 predictions: $rss"
echo "stopped ${stop_ms} ms after SIGTERM (exit $exit_code); load average now $(cut -d ' ' -f 1-3 /proc/loadavg)"
