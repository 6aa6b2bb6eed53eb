#!/usr/bin/env bash
# Build the test API server (embedded etcd + kube-apiserver, see main.go) and print its path.
#
# The binary is cached under ${KFP_MLSECOPS_APISERVER_CACHE:-~/.cache/kfp-mlsecops/apiserver}/<key>/
# where <key> hashes go.mod, go.sum, main.go and `go version`; a matching binary is reused without
# compiling anything. Only the binary path goes to stdout; progress goes to stderr.
#
# A cold build (empty module and build caches) downloads ~0.6 GB of modules through GOPROXY and
# fills ~2 GB of build cache: ~5 min on 2 cores (see README.md here for the measurements).
# Set GOFLAGS=-p=1 to lower peak memory on small machines (slower).
set -euo pipefail

src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${KFP_MLSECOPS_APISERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kfp-mlsecops/apiserver}"

if ! command -v go >/dev/null 2>&1; then
    echo "build.sh: 'go' not found on PATH; install Go >= 1.22 to build the test API server" >&2
    exit 1
fi

key="$(
    {
        cat "$src_dir/go.mod" "$src_dir/go.sum" "$src_dir/main.go"
        go version
    } | sha256sum | cut -c1-16
)"
out_dir="$cache_root/$key"
binary="$out_dir/testapiserver"

if [[ -x "$binary" ]]; then
    echo "$binary"
    exit 0
fi

mkdir -p "$cache_root"
# Serialise concurrent builds (e.g. pytest-xdist workers): the second one waits, then reuses.
exec 9>"$cache_root/.build.lock"
flock 9
if [[ -x "$binary" ]]; then
    echo "$binary"
    exit 0
fi

k8s_version="$(cd "$src_dir" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"
k8s_minor="$(echo "$k8s_version" | cut -d. -f2)"
version_pkg="k8s.io/component-base/version"
ldflags="-s -w"
ldflags+=" -X $version_pkg.gitVersion=$k8s_version"
ldflags+=" -X $version_pkg.gitMajor=1 -X $version_pkg.gitMinor=$k8s_minor"
ldflags+=" -X $version_pkg.gitTreeState=clean"

echo "build.sh: building kube-apiserver $k8s_version + embedded etcd into $out_dir" \
    "(cold builds take minutes)" >&2
mkdir -p "$out_dir"
tmp_binary="$(mktemp "$out_dir/.testapiserver.XXXXXX")"
trap 'rm -f "$tmp_binary"' EXIT
start=$SECONDS
(cd "$src_dir" && go build -trimpath -ldflags "$ldflags" -o "$tmp_binary" .)
chmod 0755 "$tmp_binary"
mv -f "$tmp_binary" "$binary"
trap - EXIT
echo "build.sh: built in $((SECONDS - start)) s" >&2

# Drop binaries built from older sources (~100 MB each).
for old in "$cache_root"/*/; do
    [[ "${old%/}" == "$out_dir" ]] || rm -rf -- "${old%/}"
done

echo "$binary"
