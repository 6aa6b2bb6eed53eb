"""Deploy acts only on the gate's signed approval, and re-checks everything before acting.

P3: a signature is not an approval; the approval is the gate's own key's; deploy re-applies the
policy floor and the approved policy to the attested numbers. P1: a layout changed after the
gate (even an empty folder, outside every digest) never deploys. Every refusal is one line and
nothing is written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from _release import Release
from kubernetes import client

from kfp_mlsecops import constants as C
from kfp_mlsecops.deploy import apply_inference_service, render_inference_service
from kfp_mlsecops.errors import DeploymentError, InvalidInputError, VerificationError
from kfp_mlsecops.gate import Approval, sign_approval, verify_approval
from kfp_mlsecops.policy import Policy
from kfp_mlsecops.signing import SigningConfig, VerificationConfig, generate_key_pair, sign_model

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _nothing_written(tmp_path: Path) -> None:
    assert not (tmp_path / "deploy").exists()


def _refused(deploy, release: Release, tmp_path: Path, match: str, **overrides) -> str:
    with pytest.raises(VerificationError, match=match) as info:
        deploy(release, **overrides)
    message = str(info.value)
    assert "\n" not in message and message.endswith("do not deploy")
    _nothing_written(tmp_path)
    return message


def _approval(release: Release) -> Approval:
    return verify_approval(
        release.approval,
        verification=VerificationConfig().use_key(public_key_path=release.approval_public_key),
        expected_model_digest=release.digest,
    )


def test_verified_predictor_is_the_default_and_gets_the_approval(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    result = deploy(fresh_release)
    assert result.status == "dry-run" and result.model_digest == fresh_release.digest
    config_map, isvc = yaml.safe_load_all((tmp_path / "deploy" / "isvc.yaml").read_text())
    assert config_map["metadata"]["name"] == "mnist-signature"
    assert set(config_map["data"]) == {C.SIGNATURE_FILE, C.ATTESTATION_FILE, C.APPROVAL_FILE}
    assert config_map["data"][C.APPROVAL_FILE] == fresh_release.approval.read_text()
    (container,) = isvc["spec"]["predictor"]["containers"]
    args = container["args"]
    for flag in ("--attestation", "--approval", "--approval-public-key", "--policy"):
        assert flag in args
    assert args[args.index("--expected-digest") + 1] == fresh_release.digest
    volumes = {v["name"]: v for v in isvc["spec"]["predictor"]["volumes"]}
    config_maps = sorted(v["configMap"]["name"] for v in volumes.values() if "configMap" in v)
    assert config_maps == sorted(
        ["mnist-signature", "mlsecops-verify-key", C.APPROVAL_VERIFY_CONFIGMAP, "mlsecops-policy"]
    )


def test_kserve_opt_out_renders_the_tensorflow_runtime(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    result = deploy(fresh_release, predictor="kserve")
    text = (tmp_path / "deploy" / "isvc.yaml").read_text()
    assert yaml.safe_load(text) == render_inference_service(
        name="mnist",
        namespace="kubeflow-user",
        storage_uri=result.storage_uri,
        model_digest=fresh_release.digest,
    )
    assert result.storage_uri == "s3://mlpipeline/v2/artifacts/run-1/model"


def test_dry_run_accepts_a_local_model_uri(deploy, fresh_release: Release) -> None:
    result = deploy(fresh_release, model_uri=str(fresh_release.model))
    assert result.storage_uri == fresh_release.model.resolve().as_uri()


# --- P3: a signature is not an approval -----------------------------------------------------


def test_finding_3_a_signed_attested_model_without_approval_never_deploys(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    fresh_release.approval.unlink()
    _refused(deploy, fresh_release, tmp_path, "approval .* does not exist")


def test_finding_3_a_hand_written_approved_decision_is_not_an_approval(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    """The unsigned decision JSON, edited to 'approved', in place of the signed approval."""
    doc = json.loads(fresh_release.decision.read_text())
    doc.update(decision="approved", blessed=True)
    fresh_release.approval.write_text(json.dumps(doc))
    _refused(deploy, fresh_release, tmp_path, "approval .*do not deploy")


def test_approval_signed_by_another_key_is_refused(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    generate_key_pair(tmp_path / "k" / "other.pem", tmp_path / "k" / "other.pub")
    sign_approval(
        _approval(fresh_release),
        signing=SigningConfig().use_key(private_key_path=tmp_path / "k" / "other.pem"),
        out_path=fresh_release.approval,
    )
    _refused(deploy, fresh_release, tmp_path, "approval .*(another key|invalid signature)")


def test_approval_trusting_the_model_key_is_refused_as_no_separation(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    """A compromised signing step signs an 'approval' with the model key and deploy trusts it."""
    sign_approval(
        _approval(fresh_release),
        signing=SigningConfig().use_key(private_key_path=fresh_release.private_key),
        out_path=fresh_release.approval,
    )
    _refused(
        deploy,
        fresh_release,
        tmp_path,
        "separation of duties",
        approval_public_key_path=fresh_release.public_key,
    )


def test_approval_of_another_model_is_refused(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    other = Approval(**{**_approval(fresh_release).__dict__, "model_digest": "sha256:" + "3" * 64})
    sign_approval(
        other,
        signing=SigningConfig().use_key(private_key_path=fresh_release.approval_key),
        out_path=fresh_release.approval,
    )
    _refused(deploy, fresh_release, tmp_path, "is about model sha256:3333.* not the signed model")


def test_a_compromised_gate_approving_below_the_floor_is_refused(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    """The gate's key signs an approval with a lax policy: deploy re-applies its own floor."""
    lax = Policy(
        min_clean_accuracy=0.0,
        min_robust_accuracy=0.0,
        robust_attack="worst_case",
        robust_epsilon=0.0,
    )
    forged = Approval(**{**_approval(fresh_release).__dict__, "policy": lax})
    sign_approval(
        forged,
        signing=SigningConfig().use_key(private_key_path=fresh_release.approval_key),
        out_path=fresh_release.approval,
    )
    _refused(deploy, fresh_release, tmp_path, "policy floor: the approval's policy is looser")


def test_a_compromised_gate_approving_numbers_that_miss_its_policy_is_refused(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    """The approval claims a policy the attested numbers do not meet: deploy re-applies it."""
    strict = Policy(
        min_clean_accuracy=0.9,
        min_robust_accuracy=0.99,
        robust_attack="worst_case",
        robust_epsilon=0.05,
    )
    forged = Approval(**{**_approval(fresh_release).__dict__, "policy": strict})
    sign_approval(
        forged,
        signing=SigningConfig().use_key(private_key_path=fresh_release.approval_key),
        out_path=fresh_release.approval,
    )
    _refused(deploy, fresh_release, tmp_path, "approved policy: the attested numbers do not meet")


def test_the_deploy_floor_applies_to_the_approval(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    """Approved under the built-in floor, deployed where the prod floor applies: refused."""
    prod = REPO / "manifests" / "policy" / "prod" / "policy.yaml"
    _refused(deploy, fresh_release, tmp_path, "policy floor: .*prod", floor_path=prod)


# --- the evidence is exactly what the gate approved ---------------------------------------------


def test_model_changed_after_the_gate_is_refused(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    (fresh_release.model / "1" / "variables" / "variables.index").write_bytes(b"evil")
    _refused(deploy, fresh_release, tmp_path, "files changed: 1/variables/variables.index")


def test_empty_version_folder_added_after_the_gate_is_refused(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    """Outside every digest: only the layout check sees it (TF Serving would serve '2/')."""
    (fresh_release.model / "2").mkdir()
    with pytest.raises(VerificationError, match="'2/' is an empty folder"):
        deploy(fresh_release)
    _nothing_written(tmp_path)


def test_second_version_added_and_resigned_after_the_gate_is_refused(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    shutil.copytree(fresh_release.model / "1", fresh_release.model / "2")
    sign_model(
        fresh_release.model, fresh_release.signature, private_key_path=fresh_release.private_key
    )
    with pytest.raises(VerificationError, match="another SavedModel version"):
        deploy(fresh_release)
    _nothing_written(tmp_path)


def test_signature_re_made_after_the_gate_is_not_the_approved_evidence(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    """Same model, same key, new bundle bytes: valid, but not the file the gate approved."""
    sign_model(
        fresh_release.model, fresh_release.signature, private_key_path=fresh_release.private_key
    )
    _refused(
        deploy, fresh_release, tmp_path, "evidence: signature .* not the one the gate approved"
    )


def test_signature_by_another_key_is_refused(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    generate_key_pair(tmp_path / "k" / "other.pem", tmp_path / "k" / "other.pub")
    sign_model(
        fresh_release.model, fresh_release.signature, private_key_path=tmp_path / "k" / "other.pem"
    )
    _refused(deploy, fresh_release, tmp_path, "signature|evidence")


def test_missing_attestation_is_refused(deploy, fresh_release: Release, tmp_path: Path) -> None:
    fresh_release.attestation.unlink()
    _refused(deploy, fresh_release, tmp_path, "attestation .* does not exist")


def test_tampered_attestation_is_refused(deploy, fresh_release: Release, tmp_path: Path) -> None:
    envelope = json.loads(fresh_release.attestation.read_text())
    envelope["signatures"][0]["sig"] = "A" + envelope["signatures"][0]["sig"][1:]
    fresh_release.attestation.write_text(json.dumps(envelope))
    _refused(deploy, fresh_release, tmp_path, "attestation .*do not deploy")


def test_verified_digest_from_another_run_is_refused(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    _refused(
        deploy, fresh_release, tmp_path, "different runs", verified_digest="sha256:" + "0" * 64
    )


def test_missing_model_is_refused(deploy, fresh_release: Release, tmp_path: Path) -> None:
    with pytest.raises(VerificationError, match="is not a folder"):
        deploy(fresh_release, model_dir=tmp_path / "absent")
    _nothing_written(tmp_path)


# --- options and the apply path -----------------------------------------------------------------


def test_unknown_mode_is_refused(deploy, fresh_release: Release, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="deploy mode 'deploy'"):
        deploy(fresh_release, mode="deploy")
    _nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"predictor": "onnx"}, "predictor 'onnx' is unknown"),
        ({"predictor_trust": None}, "predictor_trust is required"),
        ({"predictor": "kserve", "predictor_trust": "x"}, "predictor_trust is required"),
        ({"approval_public_key_path": None}, "exactly one of approval_public_key_path"),
    ],
)
def test_options_are_checked_before_anything_is_written(
    deploy, fresh_release: Release, tmp_path: Path, overrides, message
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        deploy(fresh_release, **overrides)
    _nothing_written(tmp_path)


@pytest.mark.parametrize("uri", ["file:///tmp/model", "/tmp/model", "relative/model"])
def test_apply_refuses_a_local_model_uri(
    deploy, fresh_release: Release, tmp_path: Path, uri: str
) -> None:
    with pytest.raises(InvalidInputError, match="KServe cannot pull.*remote pipeline_root"):
        deploy(fresh_release, mode="apply", model_uri=uri)
    _nothing_written(tmp_path)


def test_apply_without_cluster_config_fails_and_writes_nothing(
    deploy, fresh_release: Release, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    with pytest.raises(DeploymentError, match="no Kubernetes config"):
        deploy(fresh_release, mode="apply")
    _nothing_written(tmp_path)


def test_apply_reports_an_unreachable_api_server(
    deploy, fresh_release: Release, tmp_path: Path
) -> None:
    """A real client against a closed local port: a one-line DeploymentError, nothing written."""
    configuration = client.Configuration()
    configuration.host = "http://127.0.0.1:9"
    configuration.retries = 0
    with pytest.raises(DeploymentError, match="cannot reach the Kubernetes API") as info:
        deploy(fresh_release, mode="apply", kube_api_client=client.ApiClient(configuration))
    assert "\n" not in str(info.value)
    _nothing_written(tmp_path)


def test_apply_refuses_a_manifest_without_metadata() -> None:
    with pytest.raises(DeploymentError, match="render it first"):
        apply_inference_service({"kind": "InferenceService"}, api_client=None)
