# The image every kfp-mlsecops component runs in (DEFAULT_IMAGE in kfp_mlsecops/constants.py).
# Build: make image IMAGE=registry.example/kfp-mlsecops:0.1.0, then pin its digest when compiling
# (MLSECOPS_IMAGE=registry.example/kfp-mlsecops@sha256:... mlsecops compile).
# Not built on the development machines (no Docker engine there); see README "What was verified".
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2

WORKDIR /opt/kfp-mlsecops
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
COPY components ./components
COPY pipelines ./pipelines
RUN pip install -c constraints.txt ".[runtime]" \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin mlsecops

# KFP writes outputs under /tmp and the artifact mount points; nothing here needs root.
USER 10001:10001
WORKDIR /home/mlsecops
