#!/usr/bin/env bash
# Build the offline cluster's binaries from Go modules; print the directory holding them.
#
# kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, kubelet, kubeadm and kubectl
# (Kubernetes v1.31.14, from binaries/go.mod: k8s.io/kubernetes with every staging module
# replaced), etcd (etcd's server v3.5.14 behind binaries/etcd/main.go), pause
# (binaries/pause/main.go) and kind (v0.30.0, `go install`), all static (CGO_ENABLED=0).
# Cached under $KIND_CACHE/bin/<key>/, <key> hashing binaries/*, `go version` and the kind
# version. Cold: ~20 min on 2 cores, peak RSS ~1.7 GB (GOFLAGS=-p=1 lowers it; slower).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
recipe="binaries v1"

require go
src="$KIND_INFRA/binaries"
k="$(
    {
        echo "$recipe $KIND_VERSION"
        cat "$src/go.mod" "$src/go.sum" "$src/tools.go" "$src/etcd/main.go" "$src/pause/main.go"
        go version
    } | key
)"
out="$KIND_CACHE/bin/$k"
if [[ -f "$out/.complete" ]]; then
    echo "$out"
    exit 0
fi
lock bin
if [[ -f "$out/.complete" ]]; then
    echo "$out"
    exit 0
fi

k8s_version="$(cd "$src" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"
[[ "$k8s_version" == "$K8S_VERSION" ]] || die "binaries/go.mod has k8s.io/kubernetes $k8s_version, lib.sh says $K8S_VERSION"
version_pkg="k8s.io/component-base/version"
ldflags="-s -w -X $version_pkg.gitVersion=$k8s_version -X $version_pkg.gitMajor=1"
ldflags+=" -X $version_pkg.gitMinor=$(echo "$k8s_version" | cut -d. -f2)"
ldflags+=" -X $version_pkg.gitTreeState=clean -X $version_pkg.buildDate=1970-01-01T00:00:00Z"

tmp="$KIND_CACHE/bin/.tmp-$k"
rm -rf "$tmp"
mkdir -p "$tmp"
log "building Kubernetes $k8s_version binaries, etcd and pause into $out (cold: ~20 min)"
commands=()
for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl; do
    commands+=("k8s.io/kubernetes/cmd/$c")
done
export CGO_ENABLED=0
(cd "$src" && timed "Kubernetes, etcd and pause built" \
    go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${commands[@]}" ./etcd ./pause)
log "building kind $KIND_VERSION"
timed "kind built" env GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@$KIND_VERSION"
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"

# Drop binaries built from older inputs (~700 MB each).
for old in "$KIND_CACHE/bin"/*/; do
    [[ "${old%/}" == "$out" ]] || rm -rf -- "${old%/}"
done
echo "$out"
