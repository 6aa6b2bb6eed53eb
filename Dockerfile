# Two images from one file (the default, last stage is the component image):
#   component image (DEFAULT_IMAGE in kfp_mlsecops/constants.py, every pipeline step runs in it):
#     make image IMAGE=registry.example/kfp-mlsecops:0.1.0
#   verified predictor (mlsecops serve as KServe's custom kserve-container, manifests/predictor/):
#     docker build --target predictor -t registry.example/kfp-mlsecops-predictor:0.1.0 .
# Pin digests when compiling/deploying (MLSECOPS_IMAGE=registry.example/kfp-mlsecops@sha256:...).
# Not built on the development machines (no Docker engine there); see README "What was verified".
FROM python:3.11-slim-bookworm AS source

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

# --- verified predictor: docker build --target predictor ------------------------------------------
FROM source AS predictor
RUN pip install -c constraints.txt ".[runtime,serving]" \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin mlsecops
# The pod's root filesystem is read-only; the private verified model copy and Keras' config go to
# the /tmp emptyDir.
ENV KERAS_HOME=/tmp/keras
USER 10001:10001
WORKDIR /home/mlsecops
EXPOSE 8080
ENTRYPOINT ["python", "-m", "kfp_mlsecops.cli.serve_command"]

# --- component image (default target) --------------------------------------------------------------
FROM source AS component
RUN pip install -c constraints.txt ".[runtime]" \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin mlsecops

# KFP writes outputs under /tmp and the artifact mount points; nothing here needs root.
USER 10001:10001
WORKDIR /home/mlsecops
