#!/usr/bin/env bash
# Build the component and verified-predictor images from the repo's Dockerfile; print their refs.
#
# Usage: tests/infra/images/build.sh            (stdout: "<component ref> <predictor ref>")
#   BASE_IMAGE=python:3.11-slim-bookworm ...    build on a public image (needs a reachable registry)
#   GPU=1 ...                                   also build the GPU component (EXTRAS=gpu, TensorFlow with
#                                               CUDA, ~3 GB more): kfp-mlsecops-gpu:<key>, logged
# Without BASE_IMAGE a Debian bookworm base with python3 is made here with debootstrap and
# `docker import` (no registry is needed; the Debian mirror is MIRROR, default deb.debian.org).
# Images are tagged kfp-mlsecops:<key> and kfp-mlsecops-predictor:<key>, where <key> hashes the
# Dockerfile, pyproject.toml, constraints.txt, src/, components/, pipelines/ and the base image, so
# an unchanged tree reuses them without building. Starts dockerd when none answers (root only).
# TLS-intercepting networks: the certificates in /usr/local/share/ca-certificates (or HOST_CA_DIR)
# are passed to pip during the build only (build argument HOST_CA).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
mirror="${MIRROR:-http://deb.debian.org/debian}"
ca_dir="${HOST_CA_DIR:-/usr/local/share/ca-certificates}"
log() { echo "images: $*" >&2; }

if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing docker.io and debootstrap with apt-get"
        apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io debootstrap >&2
    else
        log "Docker is not installed; install docker.io (Debian) or Docker Engine"
        exit 1
    fi
fi
if ! docker info >/dev/null 2>&1; then
    if [[ "$(id -u)" != 0 ]]; then
        log "no Docker engine answers and only root can start dockerd here; start it first"
        exit 1
    fi
    log "starting dockerd (log: /tmp/kfp-mlsecops-dockerd.log)"
    nohup dockerd >/tmp/kfp-mlsecops-dockerd.log 2>&1 &
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { log "dockerd did not start; see /tmp/kfp-mlsecops-dockerd.log"; exit 1; }
fi

base="${BASE_IMAGE:-}"
# The base is keyed by its recipe only (edits elsewhere in this script keep it).
base_packages="python3,python3-venv,ca-certificates"
if [[ -z "$base" ]]; then
    base_key="$(echo "minbase bookworm $base_packages v1" | sha256sum | cut -c1-12)"
    base="kfp-mlsecops-base:bookworm-$base_key"
    if ! docker image inspect "$base" >/dev/null 2>&1; then
        command -v debootstrap >/dev/null 2>&1 || { log "debootstrap is missing (apt: debootstrap)"; exit 1; }
        root="$(mktemp -d /tmp/kfp-mlsecops-rootfs.XXXXXX)"
        trap 'rm -rf "$root"' EXIT
        log "debootstrap bookworm from $mirror (about a minute)"
        debootstrap --variant=minbase --include="$base_packages" bookworm "$root" "$mirror" >&2
        rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
        tar -C "$root" -c . | docker import \
            -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$base" >&2
    fi
fi

key="$(
    cd "$repo"
    {
        echo "$base"
        docker image inspect --format '{{.Id}}' "$base" 2>/dev/null || true
        cat Dockerfile pyproject.toml constraints.txt
        find src components pipelines -type f -not -path '*/__pycache__/*' \
            -not -path '*.egg-info/*' -print0 \
            | sort -z | xargs -0 sha256sum
    } | sha256sum | cut -c1-12
)"
component="kfp-mlsecops:$key"
predictor="kfp-mlsecops-predictor:$key"
ca=""
if compgen -G "$ca_dir/*.crt" >/dev/null; then
    ca="$(cat "$ca_dir"/*.crt)"
fi
targets=(predictor component)
[[ "${GPU:-}" == 1 ]] && targets+=(component-gpu)
for target in "${targets[@]}"; do
    case "$target" in
        predictor) ref="$predictor" ;;
        component-gpu) ref="kfp-mlsecops-gpu:$key"; log "GPU image: $ref" ;;
        *) ref="$component" ;;
    esac
    if docker image inspect "$ref" >/dev/null 2>&1; then
        log "$ref is current (cached)"
        continue
    fi
    log "building $ref on $base (a few minutes: pip installs TensorFlow)"
    extras=runtime
    [[ "$target" == component-gpu ]] && { target=component; extras=gpu; }
    docker build --network host --target "$target" --build-arg "BASE_IMAGE=$base" \
        --build-arg "EXTRAS=$extras" --build-arg "HOST_CA=$ca" -t "$ref" "$repo" >&2
done
echo "$component $predictor"
