# shellcheck shell=bash disable=SC2034
# Shared by the scripts in tests/infra/kind: paths, the cache, logging, Docker. Sourced, not run.
#
# Every cached piece lives under $KIND_CACHE/<piece>/<key>/ (binaries) or as a Docker image
# tagged <key>, where <key> hashes that piece's inputs (its sources, versions and a recipe
# version string in its script); a present piece is reused without building anything.

KIND_INFRA="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$KIND_INFRA/../../.." && pwd)"
KIND_CACHE="${KFP_MLSECOPS_KIND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kfp-mlsecops/kind}"
CLUSTER_NAME="${KIND_CLUSTER_NAME:-mlsecops}"
# The versions this path was measured with (see README.md here).
KIND_VERSION="v0.30.0"
K8S_VERSION="v1.31.14"
KSERVE_VERSION="v0.20.0"

log() { echo "kind-infra: $*" >&2; }
die() { log "error: $*"; exit 1; }

# key: hash stdin to a 16-hex-digit cache key.
key() { sha256sum | cut -c1-16; }

# timed LABEL CMD...: run CMD, then log how long it took (stderr).
timed() {
    local label="$1" start=$SECONDS
    shift
    "$@"
    log "$label: $((SECONDS - start)) s"
}

# lock NAME: hold an exclusive lock on $KIND_CACHE/.NAME.lock until the calling shell exits, so
# two concurrent builds of one piece run one after the other (the second then reuses the first).
lock() {
    mkdir -p "$KIND_CACHE"
    exec {lock_fd}>"$KIND_CACHE/.$1.lock"
    flock "$lock_fd"
}

require() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed; $(hint "$tool")"
    done
}

hint() {
    case "$1" in
        go) echo "install Go >= 1.22 (the Kubernetes and KServe binaries are built from Go modules)" ;;
        docker | dockerd) echo "install docker.io (Debian) or Docker Engine" ;;
        debootstrap) echo "apt-get install debootstrap" ;;
        *) echo "install it first" ;;
    esac
}

# ensure_docker: make sure a Docker engine answers; start dockerd when root and none does.
ensure_docker() {
    require docker
    docker info >/dev/null 2>&1 && return 0
    [[ "$(id -u)" == 0 ]] || die "no Docker engine answers; start Docker first"
    require dockerd
    log "starting dockerd (log: /tmp/kfp-mlsecops-dockerd.log)"
    nohup dockerd >/tmp/kfp-mlsecops-dockerd.log 2>&1 &
    local _
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && return 0; sleep 0.5; done
    die "dockerd did not start; see /tmp/kfp-mlsecops-dockerd.log"
}

# has_image REF: true when the local Docker engine has REF.
has_image() { docker image inspect "$1" >/dev/null 2>&1; }

# kserve_module_dir: download KServe's Go module (source, config/ manifests) and print its dir.
kserve_module_dir() {
    require go
    local dir
    dir="$(cd / && GOFLAGS=-mod=mod go mod download -json "github.com/kserve/kserve@$KSERVE_VERSION" \
        | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    [[ -d "$dir/config" ]] || die "cannot download github.com/kserve/kserve@$KSERVE_VERSION from the Go module proxy"
    echo "$dir"
}

# kind_module_dir: the kind module's source (its node-image files under images/base/files).
kind_module_dir() {
    local dir
    dir="$(cd / && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" \
        | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    [[ -d "$dir/images/base/files" ]] || die "cannot download sigs.k8s.io/kind@$KIND_VERSION from the Go module proxy"
    echo "$dir"
}

# Where the node sees the host's $state/models (kind extraMounts); hostPath volumes point here.
NODE_MODELS_DIR="/var/local/kfp-mlsecops-models"

# build_pushgateway_image: Debian's prometheus-pushgateway (what tests/monitoring runs) with the
# libraries it links, FROM scratch; print the ref (kfp-mlsecops-pushgateway:<key>).
build_pushgateway_image() {
    local binary=/usr/bin/prometheus-pushgateway ctx ref lib
    [[ -x "$binary" ]] || die "$binary is missing (apt-get install prometheus-pushgateway)"
    ref="kfp-mlsecops-pushgateway:$( { sha256sum "$binary"; echo "pushgateway v1"; } | key)"
    if ! has_image "$ref"; then
        ctx="$(mktemp -d /tmp/kfp-mlsecops-pushgateway.XXXXXX)"
        mkdir -p "$ctx/root/bin"
        cp "$binary" "$ctx/root/bin/pushgateway"
        for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
            mkdir -p "$ctx/root$(dirname "$lib")"
            cp -L "$lib" "$ctx/root$lib"
        done
        printf 'FROM scratch\nCOPY root/ /\nUSER 65534:65534\nENTRYPOINT ["/bin/pushgateway"]\n' \
            >"$ctx/Dockerfile"
        docker build -q -t "$ref" "$ctx" >/dev/null
        rm -rf "$ctx"
    fi
    echo "$ref"
}
