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
from _deploy_helpers import deploy_kwargs

from kfp_mlsecops import constants as c
from kfp_mlsecops.deploy import (
    apply_inference_service,
    render_inference_service,
    run_deploy,
)
from kfp_mlsecops.errors import DeploymentError, InvalidInputError, VerificationError

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


def _apply(server, release, tmp_path, name, **overrides):
    """run_deploy in apply mode against the test server (overrides replace any argument)."""
    args = deploy_kwargs(
        release,
        tmp_path,
        model_uri="s3://models/digits",
        name=name,
        namespace=server.namespace,
        mode=c.DEPLOY_MODE_APPLY,
        manifest_path=tmp_path / "isvc.yaml",
        kube_api_client=server.api_client(),
        # Nothing reconciles the stand-in CRD here: apply without waiting for Ready (the wait
        # and rollback run against real KServe in tests/cluster).
        wait_timeout=0,
    )
    args.update(overrides)
    if args.get("predictor") == "kserve" and "predictor_trust" not in overrides:
        args["predictor_trust"] = None
    return run_deploy(**args)


def _absent(server, name) -> None:
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as info:
        _get(server, name)
    assert info.value.status == 404


def test_run_deploy_apply_mode_end_to_end(kube_apiserver, fresh_release, tmp_path):
    name = _name("e2e")
    result = _apply(
        kube_apiserver,
        fresh_release,
        tmp_path,
        name,
        model_uri="minio://mlpipeline/v2/artifacts/run/train/model",
        predictor="kserve",
    )
    assert result.status == "created"
    stored = _get(kube_apiserver, name)
    assert stored["spec"]["predictor"]["model"]["storageUri"] == (
        "s3://mlpipeline/v2/artifacts/run/train/model"
    )
    assert yaml.safe_load((tmp_path / "isvc.yaml").read_text())["metadata"]["name"] == name


def test_run_deploy_apply_with_kubeconfig_from_the_environment(
    kube_apiserver, fresh_release, tmp_path, monkeypatch
):
    """No client passed: the real config loading (kubeconfig via $KUBECONFIG) is used."""
    monkeypatch.setenv("KUBECONFIG", str(kube_apiserver.kubeconfig_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    name = _name("kcfg")
    result = _apply(
        kube_apiserver, fresh_release, tmp_path, name, kube_api_client=None, predictor="kserve"
    )
    assert result.status == "created"
    assert _get(kube_apiserver, name)["metadata"]["name"] == name
    assert os.environ["KUBECONFIG"] == str(kube_apiserver.kubeconfig_path)


def test_verified_predictor_applies_its_signature_configmap_then_the_service(
    kube_apiserver, fresh_release, tmp_path
):
    from kubernetes import client

    name = _name("verified")
    first = _apply(kube_apiserver, fresh_release, tmp_path, name)
    assert first.status == "created"
    core = client.CoreV1Api(kube_apiserver.api_client())
    stored = core.read_namespaced_config_map(f"{name}-signature", kube_apiserver.namespace)
    assert stored.data[c.SIGNATURE_FILE] == fresh_release.signature.read_text()
    assert stored.data[c.ATTESTATION_FILE] == fresh_release.attestation.read_text()
    assert stored.data[c.APPROVAL_FILE] == fresh_release.approval.read_text()
    predictor = _get(kube_apiserver, name)["spec"]["predictor"]
    (container,) = predictor["containers"]
    assert container["name"] == "kserve-container"
    assert (
        container["args"][container["args"].index("--expected-digest") + 1] == fresh_release.digest
    )
    volumes = {v["name"]: v for v in predictor["volumes"]}
    assert any(v.get("configMap", {}).get("name") == f"{name}-signature" for v in volumes.values())
    # the manifest file holds both documents, the ConfigMap first
    kinds = [d["kind"] for d in yaml.safe_load_all((tmp_path / "isvc.yaml").read_text())]
    assert kinds == ["ConfigMap", "InferenceService"]
    again = _apply(kube_apiserver, fresh_release, tmp_path, name)
    assert again.status == "patched"


def test_model_changed_after_the_gate_never_reaches_the_cluster(
    kube_apiserver, fresh_release, tmp_path
):
    (fresh_release.model / "1" / "saved_model.pb").write_bytes(b"swapped")
    name = _name("tampered")
    with pytest.raises(VerificationError):
        _apply(kube_apiserver, fresh_release, tmp_path, name)
    _absent(kube_apiserver, name)
    assert not (tmp_path / "isvc.yaml").exists()


def test_attestation_removed_after_the_gate_never_reaches_the_cluster(
    kube_apiserver, fresh_release, tmp_path
):
    fresh_release.attestation.unlink()
    name = _name("unattested")
    with pytest.raises(VerificationError, match="attestation"):
        _apply(kube_apiserver, fresh_release, tmp_path, name)
    _absent(kube_apiserver, name)
    assert not (tmp_path / "isvc.yaml").exists()


def test_unapproved_model_never_reaches_the_cluster(kube_apiserver, fresh_release, tmp_path):
    fresh_release.approval.unlink()
    name = _name("unapproved")
    with pytest.raises(VerificationError, match="approval"):
        _apply(kube_apiserver, fresh_release, tmp_path, name)
    _absent(kube_apiserver, name)
    assert not (tmp_path / "isvc.yaml").exists()


def test_a_rollout_that_never_becomes_ready_is_recorded_in_the_audit_log(
    kube_apiserver, fresh_release, tmp_path
):
    """Nothing reconciles the stand-in CRD, so the first revision is never Ready: deploy waits
    out its (short) timeout, raises, and the failed deploy is in the signed audit log."""
    from kfp_mlsecops.audit import read_log, verify_log
    from kfp_mlsecops.signing import SigningConfig

    log = tmp_path / "audit"
    log.mkdir()
    name = _name("neverready")
    with pytest.raises(DeploymentError, match="never served before") as info:
        _apply(
            kube_apiserver,
            fresh_release,
            tmp_path,
            name,
            predictor="kserve",
            wait_timeout=1.0,
            audit_log=log,
            audit_signing=SigningConfig().use_key(private_key_path=fresh_release.approval_key),
            run_id="run-9",
        )
    assert "NOT in the audit log" not in str(info.value)
    verify_log(log, fresh_release.approval_public_key)
    (record,) = read_log(log)
    assert (record.kind, record.outcome, record.run_id) == ("deploy", "failed", "run-9")
    assert record.model_digest == fresh_release.digest
    assert f"{kube_apiserver.namespace}/{name}" in record.message
    assert "did not become Ready" in record.message or "not Ready after" in record.message
    assert not (tmp_path / "isvc.yaml").exists()


@pytest.mark.parametrize("timeout", [-1, 3601, float("nan"), True, "300"])
def test_a_bad_wait_timeout_is_refused_before_anything_is_applied(
    kube_apiserver, fresh_release, tmp_path, timeout
):
    name = _name("badwait")
    with pytest.raises(InvalidInputError, match="deploy wait timeout"):
        _apply(kube_apiserver, fresh_release, tmp_path, name, wait_timeout=timeout)
    _absent(kube_apiserver, name)
