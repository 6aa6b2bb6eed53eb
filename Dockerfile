# Two images from one file (the default, last stage is the component image), tagged with the package
# version (VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' src/kfp_mlsecops/_version.py)):
#   component image (DEFAULT_IMAGE in kfp_mlsecops/constants/cluster.py, every pipeline step runs in it):
#     docker build -t registry.example/kfp-mlsecops:$VERSION .
#   verified predictor (mlsecops serve as KServe's custom kserve-container, manifests/predictor/):
#     docker build --target predictor -t registry.example/kfp-mlsecops-predictor:$VERSION .
#   GPU component image (TensorFlow with CUDA, not tensorflow-cpu; ~3 GB of NVIDIA wheels more):
#     docker build --build-arg EXTRAS=gpu -t registry.example/kfp-mlsecops-gpu:$VERSION .
#   and compile with --image it plus --accelerator (docs/cluster.md, "Accelerators and resources").
# `make image` builds the first two (tests/infra/images/build.sh: offline base, cached by content).
# Pin digests when compiling (mlsecops compile --output F --image ...@sha256:... --predictor-image ...).
# BASE_IMAGE: any Debian bookworm image with python3 (3.10-3.12) and its venv module; the default is
# the public Python image. Offline machines build one with debootstrap (tests/infra/images/build.sh).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE} AS source

# A venv: the same on the public Python image and on Debian's own python3 (PEP 668).
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2

# HOST_CA (optional, declared in each installing stage): PEM certificates pip trusts during the
# build only, for networks that intercept TLS, e.g.
#   --build-arg HOST_CA="$(cat /usr/local/share/ca-certificates/*.crt)"
WORKDIR /opt/kfp-mlsecops
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
COPY components ./components
COPY pipelines ./pipelines

# --- verified predictor: docker build --target predictor ------------------------------------------
FROM source AS predictor
ARG HOST_CA=""
RUN if [ -n "$HOST_CA" ]; then printf '%s\n' "$HOST_CA" > /tmp/host-ca.pem; \
      export PIP_CERT=/tmp/host-ca.pem; fi \
    && pip install -c constraints.txt ".[runtime,serving]" \
    && rm -f /tmp/host-ca.pem \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin mlsecops
# The pod's root filesystem is read-only; the private verified model copy and Keras' config go to
# the /tmp emptyDir.
ENV KERAS_HOME=/tmp/keras
USER 10001:10001
WORKDIR /home/mlsecops
EXPOSE 8080
ENTRYPOINT ["python", "-m", "kfp_mlsecops.cli.serve_command"]

# --- component image (default target) --------------------------------------------------------------
# EXTRAS=gpu builds the GPU variant: the gpu extra (tensorflow[and-cuda]) in place of runtime. A
# build argument, not a stage: Docker's legacy builder builds every stage before the target.
FROM source AS component
ARG HOST_CA=""
ARG EXTRAS=runtime
RUN case "$EXTRAS" in runtime|gpu) ;; *) echo "EXTRAS must be runtime or gpu" >&2; exit 1;; esac \
    && if [ -n "$HOST_CA" ]; then printf '%s\n' "$HOST_CA" > /tmp/host-ca.pem; \
      export PIP_CERT=/tmp/host-ca.pem; fi \
    && pip install -c constraints.txt ".[$EXTRAS]" \
    && rm -f /tmp/host-ca.pem \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin mlsecops

# KFP writes outputs under /tmp and the artifact mount points; nothing here needs root.
USER 10001:10001
WORKDIR /home/mlsecops
