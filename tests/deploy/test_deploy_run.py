from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from kfp_mlsecops.deploy import apply_inference_service, render_inference_service, run_deploy
from kfp_mlsecops.errors import DeploymentError, InvalidInputError, VerificationError
from kfp_mlsecops.signing import generate_key_pair, model_digest, sign_model

REMOTE_URI = "minio://mlpipeline/v2/artifacts/run-1/model"


def _deploy(blessed, tmp_path: Path, **overrides):
    args = dict(
        model_dir=blessed.model,
        model_uri=REMOTE_URI,
        decision_path=blessed.decision,
        verified_digest=blessed.digest,
        signature_path=blessed.signature,
        attestation_path=blessed.attestation,
        public_key_path=blessed.public_key,
        name="mnist",
        namespace="kubeflow-user",
        mode="dry-run",
        manifest_path=tmp_path / "deploy" / "isvc.yaml",
    )
    args.update(overrides)
    return run_deploy(**args)


def test_dry_run_writes_the_manifest(blessed, tmp_path: Path) -> None:
    result = _deploy(blessed, tmp_path)
    assert result.status == "dry-run"
    assert result.storage_uri == "s3://mlpipeline/v2/artifacts/run-1/model"
    assert result.model_digest == blessed.digest
    text = (tmp_path / "deploy" / "isvc.yaml").read_text()
    assert yaml.safe_load(text) == render_inference_service(
        name="mnist",
        namespace="kubeflow-user",
        storage_uri=result.storage_uri,
        model_digest=blessed.digest,
    )
    assert text.index("apiVersion") < text.index("kind") < text.index("metadata")  # sorted keys


def test_dry_run_accepts_a_local_model_uri(blessed, tmp_path: Path) -> None:
    result = _deploy(blessed, tmp_path, model_uri=str(blessed.model))
    assert result.storage_uri == blessed.model.resolve().as_uri()


def _assert_nothing_written(tmp_path: Path) -> None:
    assert not (tmp_path / "deploy").exists()


def test_blocked_blessing_refuses(blessed, tmp_path: Path) -> None:
    doc = json.loads(blessed.decision.read_text())
    doc.update(decision="blocked", blessed=False)
    blessed.decision.write_text(json.dumps(doc))
    with pytest.raises(VerificationError, match="decision is 'blocked'"):
        _deploy(blessed, tmp_path)
    _assert_nothing_written(tmp_path)


def test_tampered_decision_digest_refuses(blessed, tmp_path: Path) -> None:
    doc = json.loads(blessed.decision.read_text())
    doc["model_digest"] = "sha256:" + "f" * 64
    blessed.decision.write_text(json.dumps(doc))
    with pytest.raises(VerificationError, match="differs from the blessed digest"):
        _deploy(blessed, tmp_path)
    _assert_nothing_written(tmp_path)


def test_tampered_decision_json_refuses(blessed, tmp_path: Path) -> None:
    blessed.decision.write_text(
        blessed.decision.read_text().replace('"passed": true', '"passed": 1')
    )
    with pytest.raises(VerificationError, match="did not pass"):
        _deploy(blessed, tmp_path)
    _assert_nothing_written(tmp_path)


def test_missing_decision_refuses(blessed, tmp_path: Path) -> None:
    with pytest.raises(VerificationError, match="does not exist"):
        _deploy(blessed, tmp_path, decision_path=tmp_path / "absent.json")
    _assert_nothing_written(tmp_path)


def test_verified_digest_mismatch_refuses(blessed, tmp_path: Path) -> None:
    with pytest.raises(VerificationError, match="different runs"):
        _deploy(blessed, tmp_path, verified_digest="sha256:" + "0" * 64)
    _assert_nothing_written(tmp_path)


def test_model_changed_after_gate_refuses(blessed, tmp_path: Path) -> None:
    (blessed.model / "1" / "backdoor.pb").write_bytes(b"evil")
    assert model_digest(blessed.model) != blessed.digest
    with pytest.raises(VerificationError, match="changed after the gate"):
        _deploy(blessed, tmp_path)
    _assert_nothing_written(tmp_path)


def test_missing_model_refuses(blessed, tmp_path: Path) -> None:
    with pytest.raises(VerificationError, match="cannot recompute its digest"):
        _deploy(blessed, tmp_path, model_dir=tmp_path / "absent")
    _assert_nothing_written(tmp_path)


def test_unknown_mode_refuses(blessed, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="deploy mode 'deploy'"):
        _deploy(blessed, tmp_path, mode="deploy")
    _assert_nothing_written(tmp_path)


@pytest.mark.parametrize("uri", ["file:///tmp/model", "/tmp/model", "relative/model"])
def test_apply_refuses_a_local_model_uri(blessed, tmp_path: Path, uri: str) -> None:
    with pytest.raises(InvalidInputError, match="KServe cannot pull.*remote pipeline_root"):
        _deploy(blessed, tmp_path, mode="apply", model_uri=uri)
    _assert_nothing_written(tmp_path)


def test_apply_without_cluster_config_fails_and_writes_nothing(
    blessed, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    with pytest.raises(DeploymentError, match="no Kubernetes config"):
        _deploy(blessed, tmp_path, mode="apply")
    _assert_nothing_written(tmp_path)


def test_apply_reports_an_unreachable_api_server(blessed, tmp_path: Path) -> None:
    """A real client against a closed local port: a one-line DeploymentError, nothing written."""
    configuration = client.Configuration()
    configuration.host = "http://127.0.0.1:9"
    configuration.retries = 0
    with pytest.raises(DeploymentError, match="cannot reach the Kubernetes API") as info:
        _deploy(blessed, tmp_path, mode="apply", kube_api_client=client.ApiClient(configuration))
    assert "\n" not in str(info.value)
    _assert_nothing_written(tmp_path)


def test_apply_refuses_a_manifest_without_metadata() -> None:
    with pytest.raises(DeploymentError, match="render it first"):
        apply_inference_service({"kind": "InferenceService"}, api_client=None)


# --- signature and attestation are verified again right before deploying -------------------------


def test_missing_signature_refuses(blessed, tmp_path: Path) -> None:
    blessed.signature.unlink()
    with pytest.raises(VerificationError, match="does not exist"):
        _deploy(blessed, tmp_path)
    _assert_nothing_written(tmp_path)


def test_signature_by_another_key_refuses(blessed, tmp_path: Path) -> None:
    """The blessed model re-signed with an untrusted key: digest unchanged, signature rejected."""
    generate_key_pair(tmp_path / "other.pem", tmp_path / "other.pub.pem")
    digest = sign_model(blessed.model, blessed.signature, private_key_path=tmp_path / "other.pem")
    assert digest == blessed.digest
    with pytest.raises(VerificationError) as info:
        _deploy(blessed, tmp_path)
    assert "\n" not in str(info.value)
    _assert_nothing_written(tmp_path)


def test_missing_attestation_refuses(blessed, tmp_path: Path) -> None:
    blessed.attestation.unlink()
    with pytest.raises(VerificationError, match="attestation .* does not exist"):
        _deploy(blessed, tmp_path)
    _assert_nothing_written(tmp_path)


def test_tampered_attestation_refuses(blessed, tmp_path: Path) -> None:
    envelope = json.loads(blessed.attestation.read_text())
    envelope["signatures"][0]["sig"] = "A" + envelope["signatures"][0]["sig"][1:]
    blessed.attestation.write_text(json.dumps(envelope))
    with pytest.raises(VerificationError, match="attestation .*do not deploy"):
        _deploy(blessed, tmp_path)
    _assert_nothing_written(tmp_path)


def test_attestation_with_another_key_refuses(blessed, tmp_path: Path) -> None:
    generate_key_pair(tmp_path / "other.pem", tmp_path / "other.pub.pem")
    with pytest.raises(VerificationError, match="attestation"):
        _deploy(blessed, tmp_path, public_key_path=tmp_path / "other.pub.pem")
    _assert_nothing_written(tmp_path)


def test_attestation_of_another_model_refuses(blessed, tmp_path: Path) -> None:
    """A blessed model's attestation swapped for a genuine one about another model."""
    from kfp_mlsecops.attestation import create_attestation

    other = tmp_path / "other-model"
    (other / "1").mkdir(parents=True)
    (other / "1" / "weights.bin").write_bytes(b"other weights")
    results = json.loads((blessed.decision.parent.parent / "robustness.json").read_text())
    results["model_digest"] = model_digest(other)
    (tmp_path / "other-results.json").write_text(json.dumps(results))
    key = blessed.public_key.parent / "private.pem"
    create_attestation(
        model_dir=other,
        results_path=tmp_path / "other-results.json",
        policy={"p": 1},
        data_digest="sha256:" + "cd" * 32,
        attack_config={"a": 1},
        private_key_path=key,
        out_path=blessed.attestation,
    )
    with pytest.raises(VerificationError, match="not the signed model"):
        _deploy(blessed, tmp_path)
    _assert_nothing_written(tmp_path)


def test_verified_predictor_dry_run_renders_the_signature_configmap_and_the_service(
    blessed, tmp_path: Path
) -> None:
    from kfp_mlsecops.deploy import PredictorTrust

    trust = PredictorTrust.from_method("key", configmap="team-verify-key")
    result = _deploy(blessed, tmp_path, predictor="verified", predictor_trust=trust)
    assert result.status == "dry-run"
    config_map, isvc = yaml.safe_load_all((tmp_path / "deploy" / "isvc.yaml").read_text())
    assert config_map["kind"] == "ConfigMap" and config_map["metadata"]["name"] == "mnist-signature"
    assert set(config_map["data"]) == {"model.sig", "attestation.json"}
    assert isvc["kind"] == "InferenceService"
    (container,) = isvc["spec"]["predictor"]["containers"]
    args = container["args"]
    assert args[args.index("--method") + 1] == "key"
    assert "--attestation" in args and blessed.digest in args
    volumes = isvc["spec"]["predictor"]["volumes"]
    config_maps = [v["configMap"]["name"] for v in volumes if "configMap" in v]
    assert sorted(config_maps) == ["mnist-signature", "team-verify-key"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"predictor": "onnx"}, "predictor 'onnx' is unknown"),
        ({"predictor": "verified"}, "predictor_trust is required"),
        ({"predictor_trust": "x"}, "predictor_trust is required"),
    ],
)
def test_predictor_options_are_checked_before_anything_is_written(
    blessed, tmp_path: Path, overrides, message
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        _deploy(blessed, tmp_path, **overrides)
    _assert_nothing_written(tmp_path)


def test_public_key_and_verification_config_are_exclusive(blessed, tmp_path: Path) -> None:
    from kfp_mlsecops.signing import VerificationConfig

    config = VerificationConfig().use_key(public_key_path=blessed.public_key)
    with pytest.raises(InvalidInputError, match="exactly one of public_key_path"):
        _deploy(blessed, tmp_path, verification=config)
    result = _deploy(blessed, tmp_path, public_key_path=None, verification=config)
    assert result.model_digest == blessed.digest
