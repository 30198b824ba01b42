# syntax=docker/dockerfile:1
# Sweep-agent image: the trainer image plus W&B's own agent (`wandb agent`, a Python program), for running a W&B sweep
# of `pnpm train` on many machines (README "Sweeps", configs/cloud/vertex-sweep-agent.yaml). The agent asks W&B for
# trials and runs each with the sweep file's `command` (`node --import tsx packages/model/src/cli.ts train ...`) in
# /app, the trainer image's working directory; everything the training needs comes from the trainer image.
#
#   docker build -f dockerfiles/trainer.dockerfile -t trainer:latest .
#   docker build -f dockerfiles/sweep-agent.dockerfile --build-arg TRAINER_IMAGE=trainer:latest -t sweep-agent:latest .
#   docker run --gpus all -e WANDB_API_KEY sweep-agent:latest --count 4 ENTITY/PROJECT/SWEEP_ID
#
# For Vertex AI, tag and push it beside the trainer (configs/cloud/vertex-sweep-agent.yaml names this image):
#   docker build -f dockerfiles/sweep-agent.dockerfile \
#     --build-arg TRAINER_IMAGE=REGION-docker.pkg.dev/PROJECT_ID/REPOSITORY/trainer:latest \
#     -t REGION-docker.pkg.dev/PROJECT_ID/REPOSITORY/sweep-agent:latest .
#   docker push REGION-docker.pkg.dev/PROJECT_ID/REPOSITORY/sweep-agent:latest
#
# Build arguments:
#   TRAINER_IMAGE  the trainer image to extend (built from dockerfiles/trainer.dockerfile, any NATIVE).
#   WANDB_VERSION  the pinned `wandb` Python package. It must install on the base's python3: Python 3.8 on the
#                  trainer's default base (Ubuntu 20.04), which the 0.19 series still supports (not checked here:
#                  see below; a newer base image can take a newer wandb).
#
# Not built or run in this repository's CI: PyPI (and Docker Hub) are unreachable from its machines, so this file is
# checked statically only (tests/delivery/sweep-agent.test.ts). The agent runs trials exactly as a test there builds
# the command line (tests/e2e/sweep-agent-wandb.test.ts).
# Credentials come only from the environment at run time (WANDB_API_KEY); nothing secret is baked into a layer.
ARG TRAINER_IMAGE=trainer:latest

FROM ${TRAINER_IMAGE}
ARG WANDB_VERSION=0.19.11
LABEL org.opencontainers.image.title="tfjs-mlops sweep agent" \
      org.opencontainers.image.description="wandb agent running pnpm train trials in the trainer image"

# A virtual environment: the system Python stays untouched (newer Debian/Ubuntu bases refuse system-wide pip
# installs, PEP 668), and the agent is on PATH for Vertex AI and `docker run` alike.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/wandb \
 && /opt/wandb/bin/pip install --no-cache-dir "wandb==${WANDB_VERSION}" \
 && /opt/wandb/bin/wandb --version
ENV PATH=/opt/wandb/bin:${PATH}

# tini (from the trainer image) forwards the stop signal to the agent, which stops its running trial with SIGTERM:
# the training writes a checkpoint and exits. Arguments are the agent's: [--count N] ENTITY/PROJECT/SWEEP_ID.
ENTRYPOINT ["/usr/bin/tini", "--", "wandb", "agent"]
CMD ["--help"]
