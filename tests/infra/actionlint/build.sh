#!/usr/bin/env bash
# Build actionlint (the GitHub Actions workflow linter) from its Go module and print its path.
#
# tests/ci/test_workflow_example.py lints examples/github-actions/mlsecops.yml with it; actionlint
# runs shellcheck on every `run:` script when shellcheck is on PATH (`make test-debs`).
#
# The binary is cached under ${KFP_MLSECOPS_ACTIONLINT_CACHE:-~/.cache/kfp-mlsecops/actionlint}/<key>/
# where <key> hashes the actionlint version and `go version`; a matching binary is reused without
# compiling anything. Only the binary path goes to stdout; progress goes to stderr.
# A cold build downloads a handful of small modules through GOPROXY: ~30 s on 2 cores.
set -euo pipefail

# The version the example workflow was checked with (served by the Go module proxy).
version="v1.7.12"
module="github.com/rhysd/actionlint/cmd/actionlint"
cache_root="${KFP_MLSECOPS_ACTIONLINT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kfp-mlsecops/actionlint}"

if ! command -v go >/dev/null 2>&1; then
    echo "build.sh: 'go' not found on PATH; install Go >= 1.24 to build actionlint $version" >&2
    exit 1
fi

key="$(
    {
        echo "$module@$version"
        go version
    } | sha256sum | cut -c1-16
)"
out_dir="$cache_root/$key"
binary="$out_dir/actionlint"

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

echo "build.sh: building actionlint $version into $out_dir" >&2
mkdir -p "$out_dir"
tmp_dir="$(mktemp -d "$out_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp_dir"' EXIT
start=$SECONDS
# Module mode with an exact version: go.sum of actionlint's own module is checked against the
# checksum database like any `go install pkg@version`.
GOBIN="$tmp_dir" go install -trimpath -ldflags "-s -w" "$module@$version"
chmod 0755 "$tmp_dir/actionlint"
mv -f "$tmp_dir/actionlint" "$binary"
echo "build.sh: built in $((SECONDS - start)) s" >&2

# Drop binaries built for other versions or Go toolchains.
for old in "$cache_root"/*/; do
    [[ "${old%/}" == "$out_dir" ]] || rm -rf -- "${old%/}"
done

echo "$binary"
