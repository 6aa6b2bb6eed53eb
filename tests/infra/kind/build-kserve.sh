#!/usr/bin/env bash
# Build KServe's controller image from its Go module; print the image ref.
#
# The manager (github.com/kserve/kserve/cmd/manager at $KSERVE_VERSION, built in the module's own
# directory so its go.mod and replace directives apply exactly as upstream, CGO_ENABLED=0) goes
# into an image FROM scratch: kfp-mlsecops-kserve-controller:<key>, <key> hashing the version,
# `go version` and this script's recipe string. The install manifests come from the same
# module's config/ (see kserve_manifests.py). Cold: ~10 min on 2 cores (download + build).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
recipe="kserve v1"

require go
ensure_docker
k="$(echo "$recipe $KSERVE_VERSION $(go version)" | key)"
image="kfp-mlsecops-kserve-controller:$k"
if has_image "$image"; then
    echo "$image"
    exit 0
fi
lock kserve
if has_image "$image"; then
    echo "$image"
    exit 0
fi

module="$(kserve_module_dir)"
ctx="$KIND_CACHE/kserve/.tmp-$k"
rm -rf "$ctx"
mkdir -p "$ctx"
trap 'rm -rf "$ctx"' EXIT
log "building KServe $KSERVE_VERSION's manager from its Go module (cold: ~10 min)"
(cd "$module" && CGO_ENABLED=0 GOFLAGS=-mod=readonly timed "KServe manager built" \
    go build -trimpath -ldflags "-s -w" -o "$ctx/manager" ./cmd/manager)
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
DOCKERFILE
docker build -q -t "$image" "$ctx" >&2
# Older controller images of ours are kept by Docker until `docker image prune`; drop them here.
docker image ls --format '{{.Repository}}:{{.Tag}}' kfp-mlsecops-kserve-controller \
    | grep -vx "$image" | xargs -r docker rmi >/dev/null 2>&1 || true
echo "$image"
