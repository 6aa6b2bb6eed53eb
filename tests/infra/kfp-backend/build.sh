#!/usr/bin/env bash
# Build kfp-backend-check (main.go: KFP's own API server checks and argo compiler) and print its path.
#
# The binary is cached under ${KFP_MLSECOPS_KFP_BACKEND_CACHE:-~/.cache/kfp-mlsecops/kfp-backend}/
# bin/<key>/ where <key> hashes go.mod, go.sum, main.go, this script, the KFP tag and commit and
# `go version`; a matching binary is reused without compiling anything, and without the KFP source.
# Only the binary path goes to stdout; progress goes to stderr. KFP's apiserver config.json is
# installed next to it (bin/<key>/config/config.json), where the binary looks by default.
#
# The KFP Go source (the commit of tag 2.17.0, the backend release matching the kfp 2.17.3 SDK) is
# taken from the first of:
#   1. $KFP_SOURCE: a git clone of kubeflow/pipelines (bare or not) holding that commit, a GitHub
#      source archive of it (.tar.gz), or an extracted source tree whose VERSION file says 2.17.0;
#      a clone or archive is verified by commit id and extracted into the cache (step 2);
#   2. the cache: source/2.17.0-<commit>/ (go.mod, go.sum, LICENSE, VERSION, api, backend,
#      kubernetes_platform; ~16 MB);
#   3. the Go module proxy (GOPROXY): then no replace directives are needed;
#   4. GitHub's source archive of the commit (codeload.github.com), verified and cached as in 1.
# Steps 1, 2 and 4 build through `replace` directives added to a copy of go.mod. When none works the
# script prints one line saying why and how to provide the source, and exits 3.
#
# Cold (no module or build cache): ~1.6 GB of modules, ~6 min on 2 cores; a rebuild takes ~15 s.
# Set GOFLAGS=-p=1 to lower peak memory on small machines (slower).
set -euo pipefail

src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${KFP_MLSECOPS_KFP_BACKEND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kfp-mlsecops/kfp-backend}"

kfp_tag=2.17.0
kfp_commit=4a3592cb2dd0a91a4652ab93893ec8beda1f3158
kfp_module=github.com/kubeflow/pipelines
kfp_submodules=(api kubernetes_platform)
# What the build needs from the source tree (the rest of the repository is ~50 MB).
kfp_paths=(go.mod go.sum LICENSE VERSION api backend kubernetes_platform)
config_json=backend/src/apiserver/config/config.json

log() { echo "build.sh: $*" >&2; }
die() {
    log "$*"
    exit 1
}

command -v go >/dev/null 2>&1 ||
    die "'go' not found on PATH; install Go >= 1.26 to build kfp-backend-check"

# The pseudo-version go.mod requires must name the pinned commit.
kfp_version="$(awk -v m="$kfp_module" '$1 == m { print $2; exit }' "$src_dir/go.mod")"
[[ "$kfp_version" == *"-${kfp_commit:0:12}" ]] ||
    die "go.mod requires $kfp_module@${kfp_version:-?}, not the pinned commit ${kfp_commit:0:12} of $kfp_tag"

key="$(
    {
        cat "$src_dir/go.mod" "$src_dir/go.sum" "$src_dir/main.go" "${BASH_SOURCE[0]}"
        echo "$kfp_tag $kfp_commit"
        go version
    } | sha256sum | cut -c1-16
)"
out_dir="$cache_root/bin/$key"
binary="$out_dir/kfp-backend-check"

if [[ -x "$binary" && -f "$out_dir/config/config.json" ]]; then
    echo "$binary"
    exit 0
fi

mkdir -p "$cache_root"
# Serialise concurrent builds (e.g. pytest-xdist workers): the second one waits, then reuses.
exec 9>"$cache_root/.build.lock"
flock 9
if [[ -x "$binary" && -f "$out_dir/config/config.json" ]]; then
    echo "$binary"
    exit 0
fi

cached_source="$cache_root/source/$kfp_tag-${kfp_commit:0:12}"
tmp_dirs=()
cleanup() { rm -rf -- "${tmp_dirs[@]}"; }
trap cleanup EXIT
new_tmp_dir() { # new_tmp_dir PARENT: a temp dir removed on exit, in $tmp
    mkdir -p "$1"
    tmp="$(mktemp -d "$1/.tmp.XXXXXX")"
    tmp_dirs+=("$tmp")
}

# install_source DIR: move an extracted tree into the cache (atomically) and use it.
install_source() {
    [[ -f "$1/go.mod" && -d "$1/backend/src/v2/compiler/argocompiler" ]] ||
        die "the KFP source from $2 lacks go.mod or backend/src/v2/compiler/argocompiler"
    touch "$1/.complete"
    rm -rf -- "$cached_source"
    mv -- "$1" "$cached_source"
    log "cached the KFP $kfp_tag source from $2 in $cached_source"
    kfp_src="$cached_source"
}

# source_from_archive FILE WHAT: verify a tarball's commit id, extract the paths we need, cache.
source_from_archive() {
    local archive="$1" what="$2" commit prefix
    command -v git >/dev/null 2>&1 || die "'git' is needed to verify the commit id of $what"
    if [[ "$(head -c2 -- "$archive" | od -An -tx1 | tr -d ' \n')" == 1f8b ]]; then
        commit="$(gzip -dc -- "$archive" 2>/dev/null | git get-tar-commit-id || true)"
    else
        commit="$(git get-tar-commit-id <"$archive" || true)"
    fi
    [[ "$commit" == "$kfp_commit" ]] ||
        die "$what is not KFP $kfp_tag: its commit id is '${commit:-none}', expected $kfp_commit"
    prefix="$( (tar -tf "$archive" 2>/dev/null || true) | head -n1)"
    prefix="${prefix%%/*}"
    [[ -n "$prefix" ]] || die "$what is not a readable tar archive"
    new_tmp_dir "$cache_root/source"
    tar -xf "$archive" -C "$tmp" --strip-components=1 "${kfp_paths[@]/#/$prefix/}" ||
        die "cannot extract ${kfp_paths[*]} from $what"
    install_source "$tmp" "$what"
}

# source_from_git DIR: `git archive` the pinned commit's paths from a clone, cache.
source_from_git() {
    new_tmp_dir "$cache_root/source"
    git -C "$1" archive --format=tar "$kfp_commit" -- "${kfp_paths[@]}" | tar -x -C "$tmp" ||
        die "git archive of $kfp_commit from $1 failed"
    install_source "$tmp" "the git repository $1"
}

# Resolve the source: sets kfp_src to a directory, or to "" when the module proxy serves KFP.
kfp_src=""
resolved=""
if [[ -n "${KFP_SOURCE:-}" ]]; then
    if [[ -f "$KFP_SOURCE" ]]; then
        source_from_archive "$KFP_SOURCE" "KFP_SOURCE=$KFP_SOURCE"
    elif [[ -d "$KFP_SOURCE" ]] && command -v git >/dev/null 2>&1 &&
        git -C "$KFP_SOURCE" rev-parse -q --verify "$kfp_commit^{commit}" >/dev/null 2>&1; then
        source_from_git "$KFP_SOURCE"
    elif [[ -f "$KFP_SOURCE/go.mod" && -f "$KFP_SOURCE/VERSION" ]]; then
        if ! grep -q "^module $kfp_module\$" "$KFP_SOURCE/go.mod" ||
            [[ "$(tr -d '[:space:]' <"$KFP_SOURCE/VERSION")" != "$kfp_tag" ]]; then
            die "KFP_SOURCE=$KFP_SOURCE is not the $kfp_module source at $kfp_tag (see its go.mod and VERSION)"
        fi
        kfp_src="$(cd "$KFP_SOURCE" && pwd)"
        log "using the KFP source tree $kfp_src (VERSION $kfp_tag; not copied into the cache)"
    else
        die "KFP_SOURCE=$KFP_SOURCE is neither a git clone holding $kfp_commit ($kfp_tag)," \
            "nor a source archive, nor a source tree of $kfp_module $kfp_tag"
    fi
    resolved=1
elif [[ -f "$cached_source/.complete" ]]; then
    kfp_src="$cached_source"
    resolved=1
fi

build_dir=""
new_tmp_dir "$cache_root/build"
build_dir="$tmp"
cp "$src_dir/go.mod" "$src_dir/go.sum" "$src_dir/main.go" "$build_dir/"

proxy_error=""
if [[ -z "$resolved" ]]; then
    log "no KFP source given or cached; asking the Go module proxy for $kfp_module@$kfp_version"
    modules=("$kfp_module@$kfp_version")
    for sub in "${kfp_submodules[@]}"; do
        modules+=("$kfp_module/$sub@$kfp_version")
    done
    if proxy_output="$(cd "$build_dir" && timeout 300 go mod download -json "${modules[@]}" 2>&1)"; then
        resolved=1
    else
        proxy_error="$(echo "$proxy_output" | sed -n 's/.*"Error": "\(.*\)".*/\1/p' | head -n1 |
            sed 's/^.*: \([0-9][0-9][0-9] [^\\]*\)\\n\\tserver response: /\1: /')"
        proxy_error="${proxy_error:-$(echo "$proxy_output" | tail -n1)}"
    fi
fi
github_error=""
if [[ -z "$resolved" ]]; then
    url="https://codeload.github.com/kubeflow/pipelines/tar.gz/$kfp_commit"
    log "the proxy refused ($proxy_error); downloading $url"
    new_tmp_dir "$cache_root/source"
    if github_error="$(curl -fsS --connect-timeout 20 --max-time 900 -o "$tmp/source.tar.gz" "$url" 2>&1)"; then
        source_from_archive "$tmp/source.tar.gz" "$url"
        resolved=1
    fi
fi
if [[ -z "$resolved" ]]; then
    log "cannot build kfp-backend-check: no KFP $kfp_tag Go source. The Go module proxy refused" \
        "$kfp_module@$kfp_version (${proxy_error:-no answer}), GitHub was unreachable" \
        "(${github_error:-no answer}) and $cached_source is empty. Provide it once:" \
        "KFP_SOURCE=<a kubeflow/pipelines git clone with tag $kfp_tag, or its GitHub archive" \
        "pipelines-$kfp_tag.tar.gz> make kfp-backend"
    exit 3
fi

if [[ -n "$kfp_src" ]]; then
    replaces=(-replace "$kfp_module=$kfp_src")
    for sub in "${kfp_submodules[@]}"; do
        replaces+=(-replace "$kfp_module/$sub=$kfp_src/$sub")
    done
    (cd "$build_dir" && go mod edit "${replaces[@]}")
    source_note="the local KFP source $kfp_src"
else
    source_note="the Go module proxy"
fi

mkdir -p "$out_dir/config"
log "building kfp-backend-check (KFP $kfp_tag from $source_note) into $out_dir" \
    "(a cold build takes minutes)"
tmp_binary="$build_dir/kfp-backend-check"
start=$SECONDS
# -mod=mod: with the proxy, go.sum (a copy here) gains KFP's own sums, checked against GOSUMDB.
(cd "$build_dir" && go build -mod=mod -trimpath -ldflags "-s -w" -o "$tmp_binary" .)
kfp_dir="$(cd "$build_dir" && go list -mod=mod -m -f '{{.Dir}}' "$kfp_module")"
cp "$kfp_dir/$config_json" "$out_dir/config/config.json"
chmod 0644 "$out_dir/config/config.json"
mv -f "$tmp_binary" "$binary"
log "built in $((SECONDS - start)) s"

# Drop binaries built from older inputs (~100 MB each).
for old in "$cache_root"/bin/*/; do
    [[ "${old%/}" == "$out_dir" ]] || rm -rf -- "${old%/}"
done

echo "$binary"
