#!/usr/bin/env bash
# Create the test cluster (kind, KServe in RawDeployment mode) and load our images; idempotent.
#
#   tests/infra/kind/kind-up.sh                         offline: everything built here (default)
#   MLSECOPS_KIND_SOURCE=public tests/infra/kind/kind-up.sh
#                                                       with internet: kind's public node image,
#                                                       cert-manager and KServe release manifests
#   KIND_LOAD_COMPONENT=1 ...                           also load the component image (2.3 GB)
# State (kubeconfig, cluster.env for the tests, KServe certificates, the models folder the node
# mounts) goes to $KFP_MLSECOPS_KIND_STATE (default /tmp/kfp-mlsecops-kind); the builds are cached
# (see README.md here). Progress and timings go to stderr. tests/infra/kind/kind-down.sh removes
# the cluster and the state, never the caches.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

source_kind="${MLSECOPS_KIND_SOURCE:-local}"
public_node_image="${KIND_NODE_IMAGE:-kindest/node:v1.31.12}"
cert_manager_version="${CERT_MANAGER_VERSION:-v1.16.2}"
state="${KFP_MLSECOPS_KIND_STATE:-/tmp/kfp-mlsecops-kind}"
start_all=$SECONDS
ensure_docker
mkdir -p "$state/models"
chmod 0755 "$state" "$state/models"

# --- tools and images ----------------------------------------------------------------------------
case "$source_kind" in
    local)
        bin="$(timed "binaries (cached unless inputs changed)" "$KIND_INFRA/build-binaries.sh")"
        kind_bin="$bin/kind"
        kubectl_bin="$bin/kubectl"
        node_image="$(timed "node image" "$KIND_INFRA/build-node.sh")"
        kserve_image="$(timed "KServe controller image" "$KIND_INFRA/build-kserve.sh")"
        ;;
    public)
        kind_bin="$(command -v kind || true)"
        if [[ -z "$kind_bin" ]]; then
            require go
            GOBIN="$KIND_CACHE/kind-$KIND_VERSION" go install "sigs.k8s.io/kind@$KIND_VERSION"
            kind_bin="$KIND_CACHE/kind-$KIND_VERSION/kind"
        fi
        kubectl_bin="$(command -v kubectl)" || die "public mode needs kubectl on PATH"
        node_image="$public_node_image"
        kserve_image=""
        ;;
    *) die "MLSECOPS_KIND_SOURCE=$source_kind: use 'local' (offline, default) or 'public'" ;;
esac
# Docker's build output goes to a log file; on failure its tail is shown.
if ! refs="$(timed "component and predictor images" "$REPO/tests/infra/images/build.sh" \
    2>"$state/images-build.log")"; then
    tail -n 30 "$state/images-build.log" >&2
    die "tests/infra/images/build.sh failed (log: $state/images-build.log)"
fi
read -r component_image predictor_image <<<"$refs"
# Deploy takes registry-qualified references only (registry/name:tag); inside the cluster the
# predictor is this name, never pulled (it is loaded, and tagged references pull IfNotPresent).
docker tag "$predictor_image" "kfp-mlsecops.local/$predictor_image"
predictor_image="kfp-mlsecops.local/$predictor_image"
# Older tags of ours would keep superseded 2.4 GB images alive.
docker image ls --format '{{.Repository}}:{{.Tag}}' kfp-mlsecops.local/kfp-mlsecops-predictor \
    | grep -vx "$predictor_image" | xargs -r docker rmi >/dev/null 2>&1 || true
pushgateway_image=""
[[ "$source_kind" == local ]] && pushgateway_image="$(build_pushgateway_image)"

kind_() {
    # Only kind sees the docker wrapper (see docker-wrapper/docker), and only offline.
    if [[ "$source_kind" == local ]]; then
        PATH="$KIND_INFRA/docker-wrapper:$PATH" "$kind_bin" "$@"
    else
        "$kind_bin" "$@"
    fi
}
kubectl_() { "$kubectl_bin" --kubeconfig "$state/kubeconfig" "$@"; }

# --- the cluster ---------------------------------------------------------------------------------
{
    echo "kind: Cluster"
    echo "apiVersion: kind.x-k8s.io/v1alpha4"
    if [[ "$source_kind" == local ]]; then
        echo "networking:"
        echo "  disableDefaultCNI: true  # the node image has a static bridge CNI config"
    fi
    echo "nodes:"
    echo "  - role: control-plane"
    echo "    extraMounts:"
    echo "      - hostPath: $state/models"
    echo "        containerPath: $NODE_MODELS_DIR"
    if [[ "$source_kind" == local ]]; then
        echo "    kubeadmConfigPatches:"
        echo "      - |"
        echo "        kind: InitConfiguration"
        echo "        skipPhases: [addon/coredns]  # no CoreDNS image offline: no cluster DNS"
    fi
} >"$state/cluster.yaml"

if kind_ get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
    log "cluster '$CLUSTER_NAME' exists; reusing it"
    kind_ export kubeconfig --name "$CLUSTER_NAME" --kubeconfig "$state/kubeconfig" 2>/dev/null
else
    [[ -d /lib/modules ]] || log "no /lib/modules on this host; the node runs without it"
    timed "kind create cluster" kind_ create cluster --name "$CLUSTER_NAME" --image "$node_image" \
        --config "$state/cluster.yaml" --kubeconfig "$state/kubeconfig" --wait 180s
fi
chmod 0600 "$state/kubeconfig"

# The component image (2.3 GB, ~5 GB in the node once unpacked) only when asked: no cluster test
# runs a pipeline pod (KFP's backend is not installed), the predictor image is what KServe runs.
load=("$predictor_image")
[[ "${KIND_LOAD_COMPONENT:-0}" == 1 ]] && load+=("$component_image")
[[ -n "$kserve_image" ]] && load+=("$kserve_image")
[[ -n "$pushgateway_image" ]] && load+=("$pushgateway_image")
for image in "${load[@]}"; do
    timed "kind load $image" kind_ load docker-image --name "$CLUSTER_NAME" "$image" >/dev/null
done

# --- KServe --------------------------------------------------------------------------------------
if [[ "$source_kind" == local ]]; then
    mkdir -p "$state/kserve"
    "$kubectl_bin" kustomize "$(kserve_module_dir)/config/overlays/standalone/kserve" \
        >"$state/kserve/upstream.yaml"
    "$REPO/.venv/bin/python" "$KIND_INFRA/kserve_manifests.py" --image "$kserve_image" \
        --out "$state/kserve" <"$state/kserve/upstream.yaml"
    kubectl_ apply --server-side --force-conflicts -f "$state/kserve/crds.yaml" >/dev/null
    # (kubectl 1.31's wait errors out on a CRD whose status is not written yet: retry)
    for _ in $(seq 60); do
        kubectl_ wait --for condition=established --timeout=60s \
            -f "$state/kserve/crds.yaml" >/dev/null 2>&1 && break
        sleep 2
    done
    kubectl_ apply --server-side --force-conflicts -f "$state/kserve/kserve.yaml" >/dev/null
else
    base="https://github.com"
    kubectl_ apply --server-side -f \
        "$base/cert-manager/cert-manager/releases/download/$cert_manager_version/cert-manager.yaml" >/dev/null
    kubectl_ wait --for=condition=Available --timeout=300s -n cert-manager deployment --all >/dev/null
    kubectl_ apply --server-side -f \
        "$base/kserve/kserve/releases/download/$KSERVE_VERSION/kserve.yaml" >/dev/null
    kubectl_ patch configmap/inferenceservice-config -n kserve --type=merge -p \
        '{"data":{"deploy":"{\"defaultDeploymentMode\":\"Standard\"}"}}' >/dev/null
    ingress="$(kubectl_ get configmap/inferenceservice-config -n kserve -o jsonpath='{.data.ingress}')"
    ingress="$(echo "$ingress" | "$REPO/.venv/bin/python" -c \
        'import json,sys; d=json.load(sys.stdin); d["disableIngressCreation"]=True; print(json.dumps(d))')"
    kubectl_ patch configmap/inferenceservice-config -n kserve --type=merge -p \
        "$("$REPO/.venv/bin/python" -c 'import json,sys; print(json.dumps({"data":{"ingress":sys.argv[1]}}))' "$ingress")" >/dev/null
    kubectl_ rollout restart -n kserve deployment/kserve-controller-manager >/dev/null
fi
# prometheus-operator's CRDs only (manifests/monitoring uses them; no operator runs here).
kubectl_ apply --server-side --force-conflicts -f "$KIND_INFRA/crds/" >/dev/null
log "waiting for the KServe controller and its webhooks"
timed "KServe controller Available" kubectl_ wait --for=condition=Available --timeout=300s \
    -n kserve deployment/kserve-controller-manager >/dev/null
# The webhook answers once the endpoint is ready; prove it with a server-side dry run.
probe='{"apiVersion":"serving.kserve.io/v1beta1","kind":"InferenceService","metadata":{"name":"probe","namespace":"default"},"spec":{"predictor":{"containers":[{"name":"kserve-container","image":"probe"}]}}}'
for _ in $(seq 60); do
    echo "$probe" | kubectl_ apply --dry-run=server -f - >/dev/null 2>&1 && break
    sleep 2
done
echo "$probe" | kubectl_ apply --dry-run=server -f - >/dev/null || die "KServe's webhooks do not answer"

{
    echo "# Written by tests/infra/kind/kind-up.sh; read by tests/cluster."
    echo "SOURCE=$source_kind"
    echo "CLUSTER_NAME=$CLUSTER_NAME"
    echo "KUBECONFIG=$state/kubeconfig"
    echo "KUBECTL=$kubectl_bin"
    echo "MODELS_DIR=$state/models"
    echo "NODE_MODELS_DIR=$NODE_MODELS_DIR"
    echo "COMPONENT_IMAGE=$component_image"
    echo "PREDICTOR_IMAGE=$predictor_image"
    echo "PUSHGATEWAY_IMAGE=$pushgateway_image"
    echo "KSERVE_VERSION=$KSERVE_VERSION"
} >"$state/cluster.env"
log "cluster '$CLUSTER_NAME' is up in $((SECONDS - start_all)) s ($source_kind); KUBECONFIG=$state/kubeconfig"
