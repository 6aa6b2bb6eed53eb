#!/usr/bin/env bash
# Delete the test cluster and its state folder; keep every cache (binaries, images).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

state="${KFP_MLSECOPS_KIND_STATE:-/tmp/kfp-mlsecops-kind}"
kind_bin=""
for candidate in "$KIND_CACHE"/bin/*/kind "$KIND_CACHE"/kind-*/kind "$(command -v kind || true)"; do
    if [[ -x "$candidate" ]]; then
        kind_bin="$candidate"
        break
    fi
done
if [[ -z "$kind_bin" ]]; then
    log "no kind binary (nothing was built); nothing to delete"
elif docker info >/dev/null 2>&1; then
    # kind delete only stops and removes containers: no --privileged, no wrapper needed.
    timed "kind delete cluster" "$kind_bin" delete cluster --name "$CLUSTER_NAME" >&2
fi
rm -rf -- "$state"
