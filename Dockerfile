# syntax=docker/dockerfile:1
#
# Kith container image.
#
#   docker build -t kith:0.1.0 .
#   docker run --rm -p 127.0.0.1:8080:8080 --env-file .env -v kith-data:/var/lib/kith kith:0.1.0
#
# The image holds no model and no secrets. It talks to an OpenAI-compatible server
# (vLLM or llama.cpp, see infra/) at KITH_LLM__BASE_URLS, and takes its tokens from
# the environment at run time.
#
# The gateway listens on 0.0.0.0 in here, and off loopback Kith refuses to start
# the web chat without KITH_GATEWAY__WEBCHAT_TOKEN: set it (a long random string)
# or turn the web chat off with KITH_GATEWAY__WEBCHAT=false. See infra/env.example.
#
# Needs BuildKit (the default builder in current Docker) for the cache and bind
# mounts below. Both stages use the same base image, so wheels built in the first
# one are ABI-compatible with the second. For reproducible builds, pin it by digest:
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:<digest> .

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------
# Stage 1: build wheels for Kith and every dependency.
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1

# A compiler for the sdist-only dependencies. It stays in this stage and never
# reaches the final image. (python-olm, which matrix-nio[e2e] pulls in, ships
# manylinux wheels for amd64 and arm64; cmake lets it build from source anywhere
# else.)
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies first, read from pyproject.toml with tomllib, so that this layer
# stays cached when only Kith's source changes.
COPY pyproject.toml ./
# Optional extras baked in: "postgres" lets the same image run as one of many replicas
# (KITH_DATABASE_URL); build with --build-arg KITH_EXTRAS= for SQLite only.
ARG KITH_EXTRAS=postgres
RUN --mount=type=cache,target=/root/.cache/pip \
    python -c 'import os, tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; extras = [e for e in os.environ.get("KITH_EXTRAS", "").split(",") if e]; print("\n".join(p["dependencies"] + [d for e in extras for d in p["optional-dependencies"][e]]))' \
        > /tmp/requirements.txt \
 && pip wheel --wheel-dir /wheels -r /tmp/requirements.txt

# Then Kith itself. README.md is the package's readme in pyproject.toml, so the
# build needs it.
COPY README.md ./
COPY core/ core/
COPY adapters/ adapters/
COPY bots/ bots/
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --no-deps --wheel-dir /wheels .

# ---------------------------------------------------------------------------
# Stage 2: runtime. Kith in a venv; no compiler, no build cache, non-root.
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="kith" \
      org.opencontainers.image.description="Self-hosted personal assistant fleet on your own Llama models" \
      org.opencontainers.image.licenses="Apache-2.0"

# Fixed numeric IDs, so that Kubernetes' runAsNonRoot can verify the user and
# fsGroup can match it.
ARG KITH_UID=10001
ARG KITH_GID=10001
RUN groupadd --system --gid "${KITH_GID}" kith \
 && useradd --system --uid "${KITH_UID}" --gid kith \
        --home-dir /var/lib/kith --no-create-home --shell /usr/sbin/nologin kith

# Install from the builder's wheels alone (--no-index: nothing is fetched here).
# The wheels are bind-mounted, so they do not end up in a layer. The venv has no
# pip: the base image's pip installs into it through --python.
ARG KITH_EXTRAS=postgres
RUN --mount=type=bind,from=builder,source=/wheels,target=/tmp/wheels \
    python -m venv --without-pip /opt/kith \
 && pip --python /opt/kith/bin/python install \
        --no-cache-dir --no-index --find-links=/tmp/wheels --disable-pip-version-check \
        --root-user-action=ignore "kith${KITH_EXTRAS:+[$KITH_EXTRAS]}"

# The default fleet: bots/<name>/bot.toml and persona.md. Owned by root and
# read-only to Kith. To use your own fleet, mount a directory over it (or point
# KITH_BOTS_DIR somewhere else).
COPY --chown=root:root bots/ /etc/kith/bots/

# State: the SQLite store and everything else Kith writes.
RUN install -d -o kith -g kith -m 0750 /var/lib/kith

ENV PATH="/opt/kith/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    KITH_GATEWAY__HOST=0.0.0.0 \
    KITH_GATEWAY__PORT=8080 \
    KITH_DATA_DIR=/var/lib/kith \
    KITH_BOTS_DIR=/etc/kith/bots

VOLUME ["/var/lib/kith"]
WORKDIR /var/lib/kith
USER ${KITH_UID}:${KITH_GID}

EXPOSE 8080

# Liveness only: /healthz does not depend on the LLM, so a model server that is
# still loading does not mark Kith unhealthy (/readyz is for that). There is no
# curl in the slim image; urlopen raises, and so exits non-zero, on anything but
# a 2xx.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('KITH_GATEWAY__PORT', '8080'), timeout=4)"]

# `kith serve` runs as PID 1 and shuts down on SIGTERM (docker stop, Kubernetes).
ENTRYPOINT ["kith"]
CMD ["serve"]
