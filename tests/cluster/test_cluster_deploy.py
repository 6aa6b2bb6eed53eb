"""The real deploy step on a real cluster: KServe's webhooks and controller, our predictor pod.

The demo's approved model (``mlsecops run``) goes through ``run_deploy(mode="apply",
predictor="verified")`` with a real token of the pipeline's service account (manifests/
pipeline-rbac, least privilege): KServe defaults and validates the InferenceService, its pod
mutator mounts the model volume, our predictor image verifies signature, attestation and approval
in the pod and serves; a prediction comes back through a port-forward on 127.0.0.1. A model
changed in storage after the gate, or evidence without the gate's approval, never becomes Ready,
and deploy says so (rolling back when an earlier revision served).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _cluster import REPO, Cluster, PortForward, request_json, wait_for

from kfp_mlsecops import constants as C
from kfp_mlsecops.deploy import PredictorTrust, run_deploy
from kfp_mlsecops.deploy.readiness import (
    READY,
    SPEC_HASH_ANNOTATION,
    evaluate_rollout,
    predictor_deployment_name,
)
from kfp_mlsecops.deploy.rollout import roll_out
from kfp_mlsecops.errors import DeploymentError, VerificationError
from kfp_mlsecops.policy import POLICY_CONFIGMAP, POLICY_FILE

pytestmark = pytest.mark.cluster

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
#: TensorFlow starts in the predictor pod on 2 shared cores; generous, a failing pod fails fast.
READY_TIMEOUT = 420.0
#: How long the test lets a refused revision try (the pod refuses within seconds of starting,
#: but KServe does not reconcile on pod restarts, so deploy only sees the Deployment stay
#: unavailable and waits out its timeout).
BAD_REVISION_TIMEOUT = 150.0
DEV_POLICY = REPO / "manifests" / "policy" / "dev" / "policy.yaml"


@pytest.fixture
def serving(cluster: Cluster, namespace: str, demo: dict[str, Path]) -> dict[str, Any]:
    """``namespace`` set up for the verified predictor and the pipeline's deployer account."""
    cluster.config_map(
        namespace, "mlsecops-verify-key", {"public-key.pem": demo["public_key"].read_text()}
    )
    cluster.config_map(
        namespace,
        C.APPROVAL_VERIFY_CONFIGMAP,
        {C.APPROVAL_VERIFY_FILE: demo["approval_public_key"].read_text()},
    )
    cluster.config_map(namespace, POLICY_CONFIGMAP, {POLICY_FILE: DEV_POLICY.read_text()})
    rbac = cluster.overlay("pipeline-rbac", namespace=namespace)
    cluster.kubectl("apply", "--server-side", "-k", str(rbac))
    cluster.kubectl("create", "serviceaccount", "default-editor", "-n", namespace)
    token = cluster.token(namespace, "default-editor")
    return {"namespace": namespace, "api": cluster.api_client(token=token)}


def _deploy(
    cluster: Cluster,
    demo: dict[str, Path],
    serving: dict[str, Any],
    name: str,
    model_uri: str,
    tmp_path: Path,
    **overrides: Any,
):
    arguments: dict[str, Any] = dict(
        model_dir=demo["model"],
        model_uri=model_uri,
        approval_path=demo["approval"],
        signature_path=demo["signature"],
        attestation_path=demo["attestation"],
        public_key_path=demo["public_key"],
        approval_public_key_path=demo["approval_public_key"],
        floor_path=DEV_POLICY,
        name=name,
        namespace=serving["namespace"],
        mode=C.DEPLOY_MODE_APPLY,
        manifest_path=tmp_path / f"{name}.yaml",
        kube_api_client=serving["api"],
        predictor=C.PREDICTOR_VERIFIED,
        predictor_trust=PredictorTrust.from_method("key"),
        predictor_image=cluster.predictor,
        wait_timeout=READY_TIMEOUT,
    )
    arguments.update(overrides)
    return run_deploy(**arguments)


def _isvc(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    from kubernetes import client

    return client.CustomObjectsApi(cluster.api_client()).get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name
    )


def _deployment(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    from kubernetes import client

    apps = client.AppsV1Api(cluster.api_client())
    answer = apps.read_namespaced_deployment(
        predictor_deployment_name(name), namespace, _preload_content=False
    )
    return json.loads(answer.data)


def _predict(cluster: Cluster, namespace: str, name: str, x: np.ndarray) -> np.ndarray:
    """POST /v1/models/<name>:predict through a port-forward to the predictor Deployment."""
    target = f"deployment/{predictor_deployment_name(name)}"
    with PortForward(cluster, namespace, target, 8080) as forward:
        status, answer = wait_for(
            lambda: _ok(
                request_json(
                    forward.port, "POST", f"/v1/models/{name}:predict", {"instances": x.tolist()}
                )
            ),  # fmt: skip
            timeout=60,
            what="a prediction through the port-forward",
        )
    assert status == 200, answer
    return np.asarray(answer["predictions"])


def _ok(answer: tuple[int, Any]) -> tuple[int, Any] | None:
    return answer if answer[0] == 200 else None


def _tampered_copy(model: Path, target: Path) -> Path:
    shutil.copytree(model, target)
    pb = target / "1" / "saved_model.pb"
    data = bytearray(pb.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, the kind of change nobody would notice
    pb.write_bytes(bytes(data))
    return target


def _ready_pods(cluster: Cluster, namespace: str, name: str) -> list[str]:
    pods = cluster.pods(namespace, f"serving.kserve.io/inferenceservice={name}")
    return [
        p["metadata"]["name"]
        for p in pods
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p.get("status", {}).get("conditions", [])
        )
    ]


def test_approved_model_serves_then_canary_then_a_tampered_revision_is_rolled_back(
    cluster: Cluster, demo: dict[str, Path], serving: dict[str, Any], tmp_path: Path
) -> None:
    namespace, name = serving["namespace"], "digits"
    uri = cluster.model_volume(namespace, "model-v1", demo["model"])

    # 1. the approved model, deployed with the pipeline account's token, becomes Ready
    result = _deploy(cluster, demo, serving, name, uri, tmp_path)
    assert (result.status, result.ready) == ("created", True), result.detail
    isvc = _isvc(cluster, namespace, name)
    assert isvc["status"]["deploymentMode"] in ("Standard", "RawDeployment")
    pods = cluster.pods(namespace, f"serving.kserve.io/inferenceservice={name}")
    (pod,) = pods
    # KServe's pod mutator mounted the PVC at /mnt/models (no storage initializer for pvc://)
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert any(v.get("persistentVolumeClaim", {}).get("claimName") == "model-v1"
               for v in volumes.values()), volumes  # fmt: skip
    x = np.load(demo["test_data"])["x"][:3].astype(np.float32)
    predictions = _predict(cluster, namespace, name, x)
    assert predictions.shape == (3, 10)
    assert np.allclose(predictions.sum(axis=1), 1.0, atol=1e-4)

    # 2. canaryTrafficPercent is rendered and accepted by KServe's validation; RawDeployment
    # cannot split traffic, so the new revision simply replaces the pods (and is waited for)
    canary = _deploy(cluster, demo, serving, name, uri, tmp_path, canary_traffic_percent=20)
    assert (canary.status, canary.ready) == ("patched", True), canary.detail
    stored = _isvc(cluster, namespace, name)
    assert stored["spec"]["predictor"]["canaryTrafficPercent"] == 20
    assert stored["metadata"]["generation"] == isvc["metadata"]["generation"] + 1
    serving_before = _ready_pods(cluster, namespace, name)

    # 3. a new revision whose model was changed in storage after the gate never becomes Ready:
    # deploy's own checks pass (the gate's copy is intact), the predictor pods refuse it, deploy
    # reports the failing condition and restores the previous spec, which keeps serving
    bad_uri = cluster.model_volume(
        namespace, "model-v2", _tampered_copy(demo["model"], tmp_path / "tampered")
    )
    # While the old pod serves, KServe keeps Ready=True and its modelStatus on that pod: only the
    # Deployment shows the new pods never become available, so deploy waits out its timeout
    # (shortened here; the refusal takes seconds once the pod starts).
    with pytest.raises(DeploymentError) as info:
        _deploy(cluster, demo, serving, name, bad_uri, tmp_path, wait_timeout=BAD_REVISION_TIMEOUT)
    message = str(info.value)
    assert "\n" not in message
    assert "not Ready after" in message and "old replicas still running" in message, message
    assert "rolled back to the previous spec" in message and "Ready again" in message, message
    after = _isvc(cluster, namespace, name)
    assert after["spec"] == stored["spec"]
    # the previous revision is what runs: its template, fully rolled out, its pods serving
    spec_hash = stored["spec"]["predictor"]["annotations"][SPEC_HASH_ANNOTATION]
    verdict = evaluate_rollout(
        after,
        _deployment(cluster, namespace, name),
        generation=after["metadata"]["generation"],
        spec_hash=spec_hash,
    )
    assert verdict.state == READY, verdict.detail
    assert set(_ready_pods(cluster, namespace, name)) <= set(serving_before)
    assert _predict(cluster, namespace, name, x).shape == (3, 10)


def test_first_deploy_of_a_model_tampered_in_storage_never_becomes_ready(
    cluster: Cluster, demo: dict[str, Path], serving: dict[str, Any], tmp_path: Path
) -> None:
    namespace, name = serving["namespace"], "tampered"
    uri = cluster.model_volume(
        namespace, "model", _tampered_copy(demo["model"], tmp_path / "tampered")
    )
    with pytest.raises(DeploymentError) as info:
        _deploy(cluster, demo, serving, name, uri, tmp_path, wait_timeout=BAD_REVISION_TIMEOUT)
    message = str(info.value)
    assert "never served before, so nothing was rolled back" in message, message
    assert "ModelLoadFailed" in message or "PredictorReady=False" in message, message
    assert _ready_pods(cluster, namespace, name) == []


def test_a_model_without_approval_is_refused_by_deploy_and_by_the_predictor(
    cluster: Cluster, demo: dict[str, Path], serving: dict[str, Any], tmp_path: Path
) -> None:
    namespace = serving["namespace"]
    uri = cluster.model_volume(namespace, "model", demo["model"])
    # deploy refuses before touching the cluster
    unapproved = tmp_path / "no-approval.json"
    with pytest.raises(VerificationError, match="approval"):
        _deploy(cluster, demo, serving, "blocked", uri, tmp_path, approval_path=unapproved)
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as missing:
        _isvc(cluster, namespace, "blocked")
    assert missing.value.status == 404

    # someone bypasses deploy and applies the predictor with evidence lacking the approval
    _deploy(cluster, demo, serving, "bypass", uri, tmp_path, mode=C.DEPLOY_MODE_DRY_RUN)
    documents = list(yaml_documents(tmp_path / "bypass.yaml"))
    config_map, isvc = documents
    del config_map["data"][C.APPROVAL_FILE]
    with pytest.raises(DeploymentError) as info:
        roll_out([config_map, isvc], api_client=serving["api"], timeout=BAD_REVISION_TIMEOUT)
    assert "nothing was rolled back" in str(info.value)
    assert _ready_pods(cluster, namespace, "bypass") == []
    # the evaluation deploy uses agrees with KServe's status documents as they are now
    current = _isvc(cluster, namespace, "bypass")
    verdict = evaluate_rollout(
        current,
        _deployment(cluster, namespace, "bypass"),
        generation=current["metadata"]["generation"],
        spec_hash=None,
    )
    assert verdict.state != READY


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    import yaml

    return [d for d in yaml.safe_load_all(path.read_text()) if d]
