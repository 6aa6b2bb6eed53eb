from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
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


def _change_byte(model: Path, signature: Path) -> None:
    path = model / "1" / "saved_model.pb"
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))


def _add_file(model: Path, signature: Path) -> None:
    (model / "1" / "extra.bin").write_bytes(b"payload")


def _remove_file(model: Path, signature: Path) -> None:
    (model / "1" / "variables" / "variables.index").unlink()


def _rename_file(model: Path, signature: Path) -> None:
    (model / "provenance.json").rename(model / "provenance2.json")


def _add_git_dir_file(model: Path, signature: Path) -> None:
    (model / ".git").mkdir()
    (model / ".git" / "x").write_bytes(b"hidden")


def _add_gitattributes(model: Path, signature: Path) -> None:
    (model / ".gitattributes").write_text("* filter=evil\n")


def _add_symlink(model: Path, signature: Path) -> None:
    os.symlink(model / "provenance.json", model / "link.json")


def _edit_signature_bytes(model: Path, signature: Path) -> None:
    bundle = json.loads(signature.read_text())
    sig = bytearray(base64.b64decode(bundle["dsseEnvelope"]["signatures"][0]["sig"]))
    sig[-1] ^= 0x01
    bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    signature.write_text(json.dumps(bundle))


def _edit_signed_payload(model: Path, signature: Path) -> None:
    bundle = json.loads(signature.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"].pop()
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    signature.write_text(json.dumps(bundle))


def _signature_not_json(model: Path, signature: Path) -> None:
    signature.write_text("this is not { json")


def _signature_missing(model: Path, signature: Path) -> None:
    signature.unlink()


def _signature_empty(model: Path, signature: Path) -> None:
    signature.write_bytes(b"")


TAMPERS: dict[str, Callable[[Path, Path], None]] = {
    "one byte changed": _change_byte,
    "file added": _add_file,
    "file removed": _remove_file,
    "file renamed": _rename_file,
    ".git/x added": _add_git_dir_file,
    ".gitattributes added": _add_gitattributes,
    "symlink added": _add_symlink,
    "signature bytes edited": _edit_signature_bytes,
    "signed payload edited": _edit_signed_payload,
    "signature not JSON": _signature_not_json,
    "signature missing": _signature_missing,
    "signature empty": _signature_empty,
}


@pytest.mark.parametrize("tamper", list(TAMPERS), ids=list(TAMPERS))
def test_tampering_blocks_verification(
    tamper: str, signed: tuple[Path, Path, str], keys: tuple[Path, Path]
) -> None:
    model, signature, _ = signed
    TAMPERS[tamper](model, signature)
    with pytest.raises(VerificationError) as info:
        verify_model(model, signature, public_key_path=keys[1])
    message = str(info.value)
    assert "\n" not in message
    assert f"model '{model}'" in message and "do not deploy" in message


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
