"""manifests/predictor builds offline and stays identical to render_verified_predictor_isvc."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.serve_command import add_serve_parser
from kfp_mlsecops.deploy import (
    PredictorTrust,
    render_signature_configmap,
    render_verified_predictor_isvc,
)
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.signing import generate_key_pair, sign_model

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / "manifests" / "predictor"
KUBECTL = shutil.which("kubectl")


@pytest.fixture
def evidence(tmp_path) -> dict[str, Path]:
    """A real signature bundle, and stand-in attestation/approval files (only copied here)."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"weights")
    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub")
    files = {
        C.SIGNATURE_FILE: tmp_path / "model.sig",
        C.ATTESTATION_FILE: tmp_path / "attestation.json",
        C.APPROVAL_FILE: tmp_path / "approval.json",
    }
    sign_model(model, files[C.SIGNATURE_FILE], private_key_path=tmp_path / "k.pem")
    files[C.ATTESTATION_FILE].write_text('{"payloadType": "attestation"}')
    files[C.APPROVAL_FILE].write_text('{"payloadType": "approval"}')
    return files


def _build(folder: Path) -> dict[tuple[str, str], dict]:
    assert KUBECTL, "kubectl not on PATH (it ships with the dev machine image; apt: kubectl)"
    out = subprocess.run(
        [KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def test_predictor_folder_builds_and_equals_the_rendered_inference_service(tmp_path, evidence):
    folder = tmp_path / "predictor"
    shutil.copytree(FOLDER, folder)
    for name, path in evidence.items():
        shutil.copy(path, folder / name)
    docs = _build(folder)
    assert set(docs) == {
        ("InferenceService", "digits"),
        ("ConfigMap", "mlsecops-model-signature"),
    }
    isvc = docs[("InferenceService", "digits")]
    config_map = docs[("ConfigMap", "mlsecops-model-signature")]
    assert config_map["data"] == {name: path.read_text() for name, path in evidence.items()}
    namespace = isvc["metadata"]["namespace"]
    assert config_map["metadata"]["namespace"] == namespace
    container = isvc["spec"]["predictor"]["containers"][0]
    storage_uri = next(e["value"] for e in container["env"] if e["name"] == "STORAGE_URI")
    rendered = render_verified_predictor_isvc(
        name="digits",
        namespace=namespace,
        storage_uri=storage_uri,
        model_digest="sha256:" + "0" * 64,
        signature_configmap="mlsecops-model-signature",
        trust=PredictorTrust(),
        image=container["image"],
        pin_digest=False,
    )
    assert isvc["spec"] == rendered["spec"]
    assert isvc["metadata"]["labels"] == rendered["metadata"]["labels"]
    assert container["name"] == "kserve-container"
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    # The container args are a valid `mlsecops serve` command line for the mounted files.
    parser = argparse.ArgumentParser()
    add_serve_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", *container["args"]])
    assert (args.port, str(args.model_dir), args.name) == (8080, "/mnt/models", "digits")
    assert args.method == "key"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in isvc["spec"]["predictor"]["volumes"]}
    assert str(args.signature.parent) == mounts["model-signature"]
    assert volumes["model-signature"]["configMap"]["name"] == "mlsecops-model-signature"
    assert str(args.public_key.parent) == mounts["verify-key"]
    assert volumes["verify-key"]["configMap"]["name"] == "mlsecops-verify-key"
    assert str(args.approval.parent) == mounts["model-signature"]
    assert str(args.attestation.parent) == mounts["model-signature"]
    assert str(args.approval_public_key.parent) == mounts["approval-verify"]
    assert volumes["approval-verify"]["configMap"]["name"] == C.APPROVAL_VERIFY_CONFIGMAP
    assert str(args.policy.parent) == mounts["policy"]
    assert volumes["policy"]["configMap"]["name"] == "mlsecops-policy"
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
    assert security["capabilities"] == {"drop": ["ALL"]}


def test_rendered_service_pins_the_digest_and_verifies_the_approval(evidence):
    digest = "sha256:" + "ab" * 32
    isvc = render_verified_predictor_isvc(
        name="fraud",
        namespace="models",
        storage_uri="s3://mlpipeline/v2/artifacts/run/model",
        model_digest=digest,
        signature_configmap="fraud-evidence",
        trust=PredictorTrust(),
        image="registry.example/kfp-mlsecops-predictor@sha256:" + "cd" * 32,
        service_account="fraud-reader",
    )
    assert isvc["metadata"]["annotations"][C.MODEL_DIGEST_ANNOTATION] == digest
    predictor = isvc["spec"]["predictor"]
    args = predictor["containers"][0]["args"]
    assert args[args.index("--expected-digest") + 1] == digest
    assert args[args.index("--attestation") + 1] == f"{C.SIGNATURE_MOUNT}/{C.ATTESTATION_FILE}"
    assert args[args.index("--approval") + 1] == f"{C.SIGNATURE_MOUNT}/{C.APPROVAL_FILE}"
    assert predictor["serviceAccountName"] == "fraud-reader"
    cm = render_signature_configmap(name="fraud-evidence", namespace="models", files=evidence)
    assert set(cm["data"]) == {C.SIGNATURE_FILE, C.ATTESTATION_FILE, C.APPROVAL_FILE}


@pytest.mark.parametrize(
    "override",
    [
        {"image": "not an image"},
        {"signature_configmap": "Bad_Name"},
        {"model_digest": "sha256:xyz"},
        {"storage_uri": "ftp://host/model"},
        {"name": "UPPER"},
        {"trust": "key"},
    ],
)
def test_render_refuses_bad_arguments(override):
    kwargs = {
        "name": "digits",
        "namespace": "models",
        "storage_uri": "s3://bucket/model",
        "model_digest": "sha256:" + "0" * 64,
        "signature_configmap": "evidence",
        "trust": PredictorTrust(),
        **override,
    }
    with pytest.raises(InvalidInputError):
        render_verified_predictor_isvc(**kwargs)
