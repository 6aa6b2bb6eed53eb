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
def signature(tmp_path) -> Path:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.keras").write_bytes(b"weights")
    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub")
    target = tmp_path / "model.sig"
    sign_model(model, target, private_key_path=tmp_path / "k.pem")
    return target


def _build(folder: Path) -> dict[tuple[str, str], dict]:
    assert KUBECTL, "kubectl not on PATH (it ships with the dev machine image; apt: kubectl)"
    out = subprocess.run(
        [KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def test_predictor_folder_builds_and_equals_the_rendered_inference_service(tmp_path, signature):
    folder = tmp_path / "predictor"
    shutil.copytree(FOLDER, folder)
    shutil.copy(signature, folder / C.SIGNATURE_FILE)
    docs = _build(folder)
    assert set(docs) == {
        ("InferenceService", "digits"),
        ("ConfigMap", "mlsecops-model-signature"),
    }
    isvc = docs[("InferenceService", "digits")]
    config_map = docs[("ConfigMap", "mlsecops-model-signature")]
    assert config_map["data"] == {C.SIGNATURE_FILE: signature.read_text()}
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
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
    assert security["capabilities"] == {"drop": ["ALL"]}


def test_rendered_service_pins_the_digest_and_can_add_the_attestation(signature, tmp_path):
    digest = "sha256:" + "ab" * 32
    isvc = render_verified_predictor_isvc(
        name="fraud",
        namespace="models",
        storage_uri="s3://mlpipeline/v2/artifacts/run/model",
        model_digest=digest,
        signature_configmap="fraud-evidence",
        trust=PredictorTrust(),
        image="registry.example/kfp-mlsecops-predictor@sha256:" + "cd" * 32,
        attestation=True,
        service_account="fraud-reader",
    )
    assert isvc["metadata"]["annotations"][C.MODEL_DIGEST_ANNOTATION] == digest
    predictor = isvc["spec"]["predictor"]
    args = predictor["containers"][0]["args"]
    assert args[args.index("--expected-digest") + 1] == digest
    assert args[args.index("--attestation") + 1] == f"{C.SIGNATURE_MOUNT}/{C.ATTESTATION_FILE}"
    assert predictor["serviceAccountName"] == "fraud-reader"
    attestation = tmp_path / "attestation.json"
    attestation.write_text("{}")
    cm = render_signature_configmap(
        name="fraud-evidence",
        namespace="models",
        signature_path=signature,
        attestation_path=attestation,
    )
    assert set(cm["data"]) == {C.SIGNATURE_FILE, C.ATTESTATION_FILE}


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
