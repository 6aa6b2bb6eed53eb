from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.signing import model_digest, sign_model, verify_model


def test_sign_and_verify_return_the_same_digest(signed: tuple[Path, Path, str], keys) -> None:
    model, signature, digest = signed
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
    assert verify_model(model, signature, public_key_path=keys[1]) == digest
    assert model_digest(model) == digest
    bundle = json.loads(signature.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    names = [r["name"] for r in statement["predicate"]["resources"]]
    assert names == sorted(
        [
            "1/saved_model.pb",
            "1/variables/variables.data-00000-of-00001",
            "1/variables/variables.index",
            "provenance.json",
        ]
    )
    # .git paths are NOT ignored by our config, and the statement says so.
    assert "ignore_paths" not in statement["predicate"]["serialization"]
    assert statement["predicate"]["serialization"]["allow_symlinks"] is False


def _add_file(model: Path, signature: Path) -> None:
    (model / "1" / "extra.bin").write_bytes(b"payload")


def _rename_file(model: Path, signature: Path) -> None:
    (model / "provenance.json").rename(model / "provenance2.json")


# The full tamper matrix (key and certificate methods) is in test_signing_tamper_matrix.py.


def test_messages_name_what_changed(signed: tuple[Path, Path, str], keys) -> None:
    model, signature, _ = signed
    _add_file(model, signature)
    _rename_file(model, signature)
    with pytest.raises(VerificationError) as info:
        verify_model(model, signature, public_key_path=keys[1])
    message = str(info.value)
    assert "files added: 1/extra.bin, provenance2.json" in message
    assert "files removed: provenance.json" in message
    assert f"public key '{keys[1]}'" in message


def test_wrong_public_key_blocks(signed: tuple[Path, Path, str], other_keys) -> None:
    model, signature, _ = signed
    with pytest.raises(VerificationError, match="does not verify"):
        verify_model(model, signature, public_key_path=other_keys[1])


def test_missing_or_wrong_key_file_blocks(signed: tuple[Path, Path, str], keys, tmp_path) -> None:
    model, signature, _ = signed
    with pytest.raises(VerificationError, match="does not exist"):
        verify_model(model, signature, public_key_path=tmp_path / "nope.pem")
    with pytest.raises(VerificationError, match="not a PEM public key"):
        verify_model(model, signature, public_key_path=keys[0])  # the private key


def test_missing_model_blocks(signed: tuple[Path, Path, str], keys, tmp_path) -> None:
    _, signature, _ = signed
    with pytest.raises(VerificationError, match="does not exist"):
        verify_model(tmp_path / "absent", signature, public_key_path=keys[1])


def test_plainly_wrong_argument_types_are_input_errors(signed, keys) -> None:
    model, signature, _ = signed
    with pytest.raises(InvalidInputError):
        verify_model(None, signature, public_key_path=keys[1])  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="ignore_paths"):
        verify_model(model, signature, public_key_path=keys[1], ignore_paths="model.sig")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="inside the model"):
        verify_model(model, signature, public_key_path=keys[1], ignore_paths=["../x"])


def test_signature_inside_model_is_refused_at_signing(model: Path, keys) -> None:
    target = model / "1" / "model.sig"
    with pytest.raises(InvalidInputError, match="inside the model directory"):
        sign_model(model, target, private_key_path=keys[0])
    assert not target.exists()


def test_signature_inside_model_fails_verification(signed, keys) -> None:
    model, signature, _ = signed
    inside = model / "model.sig"
    inside.write_bytes(signature.read_bytes())
    with pytest.raises(VerificationError, match="inside the model directory"):
        verify_model(model, inside, public_key_path=keys[1])


def test_resigning_replaces_the_signature_atomically(signed, keys) -> None:
    model, signature, digest = signed
    (model / "provenance.json").write_text('{"trained": "again"}\n')
    new_digest = sign_model(model, signature, private_key_path=keys[0])
    assert new_digest != digest
    assert verify_model(model, signature, public_key_path=keys[1]) == new_digest
    assert sorted(p.name for p in signature.parent.iterdir()) == ["model.sig"]
