#!/usr/bin/env bash
# End-to-end on kind: KFP standalone + KServe, our image, keys, RBAC, then one pipeline run.
#
#   manifests/kind/e2e.sh            # create cluster, install, build, submit, wait
#   KEEP_CLUSTER=1 manifests/kind/e2e.sh
#
# Needs: docker (running engine), kind, kubectl, python3 with this repo's .venv (make venv), network
# access to GitHub for the KFP and KServe release manifests. NOT RUN on the development machines
# (no Docker engine there); checked statically by tests/manifests (bash -n, shellcheck, kustomize).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
CLUSTER="${CLUSTER:-mlsecops}"
KFP_VERSION="${KFP_VERSION:-2.14.3}"          # KFP backend release (standalone manifests)
KSERVE_VERSION="${KSERVE_VERSION:-v0.15.2}"   # KServe release (raw deployment mode)
CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-v1.16.2}"
IMAGE="${IMAGE:-kfp-mlsecops:e2e}"
PREDICTOR_IMAGE="ghcr.io/kfp-mlsecops/kfp-mlsecops-predictor:0.1.0"  # the deploy step's default
NAMESPACE=kubeflow
BIN="$REPO/.venv/bin"
WORK="$(mktemp -d)"
PORT_FORWARD_PID=""

log() { printf '>> %s\n' "$*"; }
die() { printf 'e2e: error: %s\n' "$*" >&2; exit 1; }

cleanup() {
  if [ -n "$PORT_FORWARD_PID" ]; then kill "$PORT_FORWARD_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
  if [ "${KEEP_CLUSTER:-0}" != "1" ]; then
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || die "'$tool' not found; install it first"
done
docker info >/dev/null 2>&1 || die "no Docker engine answers; start Docker"
[ -x "$BIN/mlsecops" ] || die "run 'make venv' in $REPO first"

log "creating kind cluster '$CLUSTER'"
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --config "$REPO/manifests/kind/cluster.yaml" --name "$CLUSTER"

log "installing Kubeflow Pipelines $KFP_VERSION (standalone, platform-agnostic)"
kubectl apply -k "github.com/kubeflow/pipelines/manifests/kustomize/cluster-scoped-resources?ref=$KFP_VERSION"
kubectl wait --for condition=established --timeout=120s crd/applications.app.k8s.io
kubectl apply -k "github.com/kubeflow/pipelines/manifests/kustomize/env/platform-agnostic?ref=$KFP_VERSION"

log "installing cert-manager $CERT_MANAGER_VERSION and KServe $KSERVE_VERSION (RawDeployment)"
kubectl apply -f "https://github.com/cert-manager/cert-manager/releases/download/$CERT_MANAGER_VERSION/cert-manager.yaml"
kubectl wait --for=condition=Available --timeout=300s -n cert-manager deployment --all
kubectl apply --server-side -f "https://github.com/kserve/kserve/releases/download/$KSERVE_VERSION/kserve.yaml"
kubectl wait --for=condition=Available --timeout=300s -n kserve deployment/kserve-controller-manager
kubectl apply --server-side -f "https://github.com/kserve/kserve/releases/download/$KSERVE_VERSION/kserve-cluster-resources.yaml"
kubectl patch configmap/inferenceservice-config -n kserve --type=merge \
  -p '{"data":{"deploy":"{\"defaultDeploymentMode\":\"RawDeployment\"}"}}'

log "building the component image $IMAGE and loading it into kind"
docker build -t "$IMAGE" "$REPO"
kind load docker-image "$IMAGE" --name "$CLUSTER"
# The verified predictor (the default predictor) runs this image, under the pipeline's default tag.
docker build --target predictor -t "$PREDICTOR_IMAGE" "$REPO"
kind load docker-image "$PREDICTOR_IMAGE" --name "$CLUSTER"

log "creating the signing and approval key pairs, the policy floor, RBAC and MinIO read access"
for folder in signing-keys approval-keys; do
  cp -r "$REPO/manifests/$folder" "$WORK/$folder"
  "$BIN/python" -c "import sys; from kfp_mlsecops.signing import generate_key_pair as g; g(sys.argv[1], sys.argv[2])" \
    "$WORK/$folder/private-key.pem" "$WORK/$folder/public-key.pem"
  sed -i "s/^namespace: .*/namespace: $NAMESPACE/" "$WORK/$folder/kustomization.yaml"
  kubectl apply -k "$WORK/$folder"
done
kubectl apply -n "$NAMESPACE" -k "$REPO/manifests/policy/dev"
# (The predictor reads the verification key, the approval key and this floor in its namespace.)
kubectl apply -k "$REPO/manifests/kind/rbac"
kubectl apply -k "$REPO/manifests/kind/minio-s3"

log "waiting for Kubeflow Pipelines to become available (several minutes)"
kubectl wait --for=condition=Available --timeout=900s -n "$NAMESPACE" deployment --all

log "compiling with the kind image and submitting"
MLSECOPS_IMAGE="$IMAGE" "$BIN/python" -c "
import sys
from kfp import compiler
from kfp_mlsecops.pipelines import secure_training
compiler.Compiler().compile(secure_training, sys.argv[1])" "$WORK/secure_training.yaml"
kubectl port-forward -n "$NAMESPACE" svc/ml-pipeline 8888:8888 >/dev/null 2>&1 &
PORT_FORWARD_PID=$!
for _ in $(seq 1 60); do
  curl -fsS http://127.0.0.1:8888/apis/v2beta1/healthz >/dev/null 2>&1 && break
  sleep 2
done
"$BIN/mlsecops" submit --host http://127.0.0.1:8888 --namespace "$NAMESPACE" \
  --experiment e2e --package "$WORK/secure_training.yaml" \
  --param namespace="$NAMESPACE" --param deploy_mode=apply \
  --param service_account=mlsecops-model-reader

log "submitted; watch it in the KFP UI: kubectl port-forward -n $NAMESPACE svc/ml-pipeline-ui 8080:80"
log "then: kubectl get inferenceservice -n $NAMESPACE digits-classifier"
