from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import _attestation_helpers as H
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kfp_mlsecops import constants as c
from kfp_mlsecops.attestation import (
    AttestationPredicate,
    check_attested_numbers,
    create_attestation,
    verify_attestation,
)
from kfp_mlsecops.errors import InvalidInputError, SigningError
from kfp_mlsecops.signing import model_digest


def test_round_trip_returns_the_attested_evidence(attested: Any) -> None:
    assert attested.digest == model_digest(attested.model)
    predicate = verify_attestation(
        attestation_path=attested.attestation,
        public_key_path=attested.public_key,
        expected_model_digest=attested.digest,
    )
    assert isinstance(predicate, AttestationPredicate)
    assert predicate.model_digest == attested.digest
    assert predicate.model_name == "model"
    assert predicate.policy == H.POLICY
    assert predicate.attack_config == H.ATTACK_CONFIG
    assert predicate.data_digest == H.DATA_DIGEST
    assert predicate.results == attested.results
    assert predicate.library_versions["securesystemslib"]
    assert predicate.library_versions["in-toto-attestation"]
    assert "keras" in predicate.library_versions
    check_attested_numbers(predicate, json.loads(attested.results_path.read_text()))


def test_statement_is_in_toto_v1_with_the_model_as_only_subject(attested: Any) -> None:
    envelope = json.loads(attested.attestation.read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert len(envelope["signatures"]) == 1
    statement = H.decode_statement(attested.attestation)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == c.ATTESTATION_PREDICATE_TYPE
    assert statement["subject"] == [
        {
            "name": "model",
            "digest": {"sha256": attested.digest.removeprefix("sha256:")},
            "annotations": {c.ATTESTATION_DIGEST_ANNOTATION: c.MODEL_DIGEST_DEFINITION},
        }
    ]
    assert set(statement["predicate"]) == {
        "results",
        "policy",
        "data_digest",
        "attack_config",
        "library_versions",
    }
    # integers stay integers in the signed payload (canonical JSON), not 200.0
    payload = json.dumps(statement)
    assert '"n_samples": 200,' in payload or '"n_samples": 200}' in payload


def test_p384_key_and_password_file(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    private = tmp_path / "p384.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"s3cret"),
        )
    )
    public = tmp_path / "p384.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    model = H.make_model(tmp_path / "model")
    results_path = tmp_path / "results.json"
    results_path.write_text(json.dumps(H.results_doc(None)))
    out = tmp_path / "att.json"
    digest = create_attestation(
        model_dir=model,
        results_path=results_path,
        policy=H.POLICY,
        data_digest=H.DATA_DIGEST,
        attack_config=H.ATTACK_CONFIG,
        private_key_path=private,
        password_path=password,
        out_path=out,
    )
    predicate = verify_attestation(
        attestation_path=out, public_key_path=public, expected_model_digest=digest
    )
    assert predicate.results[c.N_SAMPLES] == 200
    with pytest.raises(SigningError, match="encrypted; pass password_path"):
        create_attestation(
            model_dir=model,
            results_path=results_path,
            policy=H.POLICY,
            data_digest=H.DATA_DIGEST,
            attack_config=H.ATTACK_CONFIG,
            private_key_path=private,
            out_path=tmp_path / "att2.json",
        )
    assert not (tmp_path / "att2.json").exists()


def _create(tmp_path: Path, keys: tuple[Path, Path], **overrides: Any) -> str:
    model = overrides.pop("model_dir", None) or H.make_model(tmp_path / "model")
    results_path = tmp_path / "results.json"
    if not results_path.exists():
        results_path.write_text(json.dumps(H.results_doc(None)))
    kwargs: dict[str, Any] = {
        "model_dir": model,
        "results_path": results_path,
        "policy": H.POLICY,
        "data_digest": H.DATA_DIGEST,
        "attack_config": H.ATTACK_CONFIG,
        "private_key_path": keys[0],
        "out_path": tmp_path / "out" / "att.json",
    }
    kwargs.update(overrides)
    return create_attestation(**kwargs)


def test_refuses_out_path_inside_the_model(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    model = H.make_model(tmp_path / "model")
    before = model_digest(model)
    with pytest.raises(InvalidInputError, match="inside the model directory"):
        _create(tmp_path, keys, model_dir=model, out_path=model / "1" / "att.json")
    assert model_digest(model) == before


def test_refuses_results_of_another_model(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    (tmp_path / "results.json").write_text(json.dumps(H.results_doc("sha256:" + "1" * 64)))
    with pytest.raises(InvalidInputError, match="computed for model 'sha256:1111"):
        _create(tmp_path, keys)
    assert not (tmp_path / "out" / "att.json").exists()


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"data_digest": ""}, "data_digest '' is not sha256"),
        ({"data_digest": "sha256:ABC"}, "is not sha256"),
        ({"policy": {}}, "policy must be a non-empty JSON object"),
        ({"attack_config": {"eps": float("nan")}}, "attack_config is not plain JSON"),
        ({"attack_config": {"big": 2**60}}, "attack_config is not plain JSON"),
        ({"results_path": "absent.json"}, "do not exist; run attack_test first"),
    ],
)
def test_refuses_bad_inputs(
    tmp_path: Path, keys: tuple[Path, Path], override: dict[str, Any], match: str
) -> None:
    if override.get("results_path") == "absent.json":
        override = {"results_path": tmp_path / "absent.json"}
    with pytest.raises(InvalidInputError, match=match):
        _create(tmp_path, keys, **override)


@pytest.mark.parametrize(
    "content", ["not json", "[1, 2]", '{"schema": "other/v1"}', '{"a": NaN}', '{"a":1,"a":2}']
)
def test_refuses_results_that_are_not_robustness_json(
    tmp_path: Path, keys: tuple[Path, Path], content: str
) -> None:
    (tmp_path / "results.json").write_text(content)
    with pytest.raises(InvalidInputError, match="robustness results"):
        _create(tmp_path, keys)


def test_public_key_cannot_sign(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    with pytest.raises(SigningError, match="is a public key"):
        _create(tmp_path, keys, private_key_path=keys[1])


def test_importing_attestation_does_not_import_tensorflow() -> None:
    code = (
        "import sys, kfp_mlsecops.attestation; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
