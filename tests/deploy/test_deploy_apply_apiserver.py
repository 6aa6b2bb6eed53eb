"""The apply path against a REAL kube-apiserver (tests/infra/apiserver; built from Go modules).

KServe itself cannot run here: the InferenceService CRD installed on the test server is our
stand-in (tests/infra/apiserver/inferenceservice-crd.yaml), so nothing reconciles the objects;
these tests check what the Kubernetes API stores and how our client code handles its answers.
"""

from __future__ import annotations

import os
import uuid

import pytest
import yaml

from kfp_mlsecops import constants as c
from kfp_mlsecops.deploy import apply_inference_service, render_inference_service, run_deploy
from kfp_mlsecops.errors import DeploymentError, VerificationError

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _get(server, name):
    from kubernetes import client

    api = client.CustomObjectsApi(server.api_client())
    return api.get_namespaced_custom_object(GROUP, VERSION, server.namespace, PLURAL, name)


def test_apply_creates_then_patches(kube_apiserver):
    name = _name("isvc")
    first = render_inference_service(
        name=name,
        namespace=kube_apiserver.namespace,
        storage_uri="s3://models/a",
        model_digest="sha256:" + "a" * 64,
    )
    assert apply_inference_service(first, api_client=kube_apiserver.api_client()) == "created"
    second = render_inference_service(
        name=name,
        namespace=kube_apiserver.namespace,
        storage_uri="s3://models/b",
        model_digest="sha256:" + "b" * 64,
    )
    assert apply_inference_service(second, api_client=kube_apiserver.api_client()) == "patched"
    stored = _get(kube_apiserver, name)
    assert stored["spec"]["predictor"]["model"]["storageUri"] == "s3://models/b"
    annotations = stored["metadata"]["annotations"]
    assert annotations[c.MODEL_DIGEST_ANNOTATION] == "sha256:" + "b" * 64


def test_refused_token_is_one_line_without_the_token(kube_apiserver):
    manifest = render_inference_service(
        name=_name("denied"),
        namespace=kube_apiserver.namespace,
        storage_uri="s3://models/a",
        model_digest="sha256:" + "a" * 64,
    )
    bad_token = "not-the-token-" + uuid.uuid4().hex
    with pytest.raises(DeploymentError) as info:
        apply_inference_service(manifest, api_client=kube_apiserver.api_client(token=bad_token))
    message = str(info.value)
    assert "401" in message and "\n" not in message and bad_token not in message


def test_missing_namespace_is_a_clear_deployment_error(kube_apiserver):
    manifest = render_inference_service(
        name=_name("nons"),
        namespace="no-such-namespace",
        storage_uri="s3://models/a",
        model_digest="sha256:" + "a" * 64,
    )
    with pytest.raises(DeploymentError, match="404"):
        apply_inference_service(manifest, api_client=kube_apiserver.api_client())


def test_run_deploy_apply_mode_end_to_end(kube_apiserver, blessed, tmp_path):
    name = _name("e2e")
    result = run_deploy(
        model_dir=blessed.model,
        model_uri="minio://mlpipeline/v2/artifacts/run/train/model",
        decision_path=blessed.decision,
        verified_digest=blessed.digest,
        signature_path=blessed.signature,
        attestation_path=blessed.attestation,
        public_key_path=blessed.public_key,
        name=name,
        namespace=kube_apiserver.namespace,
        mode=c.DEPLOY_MODE_APPLY,
        manifest_path=tmp_path / "isvc.yaml",
        kube_api_client=kube_apiserver.api_client(),
    )
    assert result.status == "created"
    stored = _get(kube_apiserver, name)
    assert stored["spec"]["predictor"]["model"]["storageUri"] == (
        "s3://mlpipeline/v2/artifacts/run/train/model"
    )
    assert yaml.safe_load((tmp_path / "isvc.yaml").read_text())["metadata"]["name"] == name


def test_run_deploy_apply_with_kubeconfig_from_the_environment(
    kube_apiserver, blessed, tmp_path, monkeypatch
):
    """No client passed: the real config loading (kubeconfig via $KUBECONFIG) is used."""
    monkeypatch.setenv("KUBECONFIG", str(kube_apiserver.kubeconfig_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    name = _name("kcfg")
    result = run_deploy(
        model_dir=blessed.model,
        model_uri="s3://models/digits",
        decision_path=blessed.decision,
        verified_digest=blessed.digest,
        signature_path=blessed.signature,
        attestation_path=blessed.attestation,
        public_key_path=blessed.public_key,
        name=name,
        namespace=kube_apiserver.namespace,
        mode=c.DEPLOY_MODE_APPLY,
        manifest_path=tmp_path / "isvc.yaml",
    )
    assert result.status == "created"
    assert _get(kube_apiserver, name)["metadata"]["name"] == name
    assert os.environ["KUBECONFIG"] == str(kube_apiserver.kubeconfig_path)


def test_model_changed_after_the_gate_never_reaches_the_cluster(kube_apiserver, blessed, tmp_path):
    from kubernetes.client.exceptions import ApiException

    (blessed.model / "1" / "saved_model.pb").write_bytes(b"swapped")
    name = _name("tampered")
    with pytest.raises(VerificationError):
        run_deploy(
            model_dir=blessed.model,
            model_uri="s3://models/digits",
            decision_path=blessed.decision,
            verified_digest=blessed.digest,
            signature_path=blessed.signature,
            attestation_path=blessed.attestation,
            public_key_path=blessed.public_key,
            name=name,
            namespace=kube_apiserver.namespace,
            mode=c.DEPLOY_MODE_APPLY,
            manifest_path=tmp_path / "isvc.yaml",
            kube_api_client=kube_apiserver.api_client(),
        )
    with pytest.raises(ApiException) as info:
        _get(kube_apiserver, name)
    assert info.value.status == 404
    assert not (tmp_path / "isvc.yaml").exists()


def test_attestation_removed_after_the_gate_never_reaches_the_cluster(
    kube_apiserver, blessed, tmp_path
):
    from kubernetes.client.exceptions import ApiException

    blessed.attestation.unlink()
    name = _name("unattested")
    with pytest.raises(VerificationError, match="attestation"):
        run_deploy(
            model_dir=blessed.model,
            model_uri="s3://models/digits",
            decision_path=blessed.decision,
            verified_digest=blessed.digest,
            signature_path=blessed.signature,
            attestation_path=blessed.attestation,
            public_key_path=blessed.public_key,
            name=name,
            namespace=kube_apiserver.namespace,
            mode=c.DEPLOY_MODE_APPLY,
            manifest_path=tmp_path / "isvc.yaml",
            kube_api_client=kube_apiserver.api_client(),
        )
    with pytest.raises(ApiException) as info:
        _get(kube_apiserver, name)
    assert info.value.status == 404
    assert not (tmp_path / "isvc.yaml").exists()
