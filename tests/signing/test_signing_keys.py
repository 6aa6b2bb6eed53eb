from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from kfp_mlsecops.errors import InvalidInputError, SigningError
from kfp_mlsecops.signing import generate_key_pair, sign_model, verify_model


def test_generate_key_pair_writes_p256_pem_with_private_mode_0600(tmp_path: Path) -> None:
    private, public = tmp_path / "k" / "priv.pem", tmp_path / "k" / "pub.pem"
    generate_key_pair(private, public)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(private.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    pub = serialization.load_pem_public_key(public.read_bytes())
    assert pub.public_numbers() == key.public_key().public_numbers()
    assert sorted(p.name for p in private.parent.iterdir()) == ["priv.pem", "pub.pem"]


@pytest.mark.parametrize("existing", ["private", "public"])
def test_generate_key_pair_refuses_to_overwrite(tmp_path: Path, existing: str) -> None:
    private, public = tmp_path / "priv.pem", tmp_path / "pub.pem"
    victim = private if existing == "private" else public
    victim.write_text("keep me")
    with pytest.raises(InvalidInputError, match="already exists"):
        generate_key_pair(private, public)
    assert victim.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == [victim.name]


def _write_key(path: Path, key, password: bytes | None = None) -> Path:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return path


def test_sign_with_encrypted_key_and_password_file(model: Path, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    private = _write_key(tmp_path / "enc.pem", key, b"s3cret")
    public = tmp_path / "enc.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (tmp_path / "pw").write_text("s3cret\n")
    digest = sign_model(
        model, tmp_path / "m.sig", private_key_path=private, password_path=tmp_path / "pw"
    )
    assert verify_model(model, tmp_path / "m.sig", public_key_path=public) == digest
    with pytest.raises(SigningError, match="is encrypted; pass password_path"):
        sign_model(model, tmp_path / "n.sig", private_key_path=private)
    (tmp_path / "bad").write_text("wrong")
    with pytest.raises(SigningError, match="cannot be decrypted"):
        sign_model(
            model, tmp_path / "n.sig", private_key_path=private, password_path=tmp_path / "bad"
        )
    assert not (tmp_path / "n.sig").exists()


def test_sign_errors_are_one_line_and_write_nothing(model: Path, tmp_path: Path, keys) -> None:
    sig = tmp_path / "out" / "model.sig"
    rsa_key = _write_key(tmp_path / "rsa.pem", rsa.generate_private_key(65537, 2048))
    ed_key = _write_key(tmp_path / "ed.pem", ed25519.Ed25519PrivateKey.generate())
    (tmp_path / "empty-model").mkdir()
    cases = [
        (dict(model_dir=tmp_path / "absent", private_key_path=keys[0]), "does not exist"),
        (dict(model_dir=tmp_path / "empty-model", private_key_path=keys[0]), "has no files"),
        (dict(model_dir=model, private_key_path=tmp_path / "nokey.pem"), "does not exist"),
        (dict(model_dir=model, private_key_path=keys[1]), "is a public key"),
        (dict(model_dir=model, private_key_path=rsa_key), "is an RSA key"),
        (dict(model_dir=model, private_key_path=ed_key), "is an Ed25519 key"),
        (dict(model_dir=model, private_key_path=tmp_path / "empty-model"), "cannot be read"),
    ]
    for kwargs, reason in cases:
        model_dir = kwargs.pop("model_dir")
        with pytest.raises(SigningError) as info:
            sign_model(model_dir, sig, **kwargs)
        assert reason in str(info.value) and "\n" not in str(info.value)
    assert not sig.exists()
    assert not sig.parent.exists() or not any(sig.parent.iterdir())


def test_symlink_in_model_is_refused_at_signing(model: Path, tmp_path: Path, keys) -> None:
    (model / "1" / "alias.pb").symlink_to(model / "1" / "saved_model.pb")
    with pytest.raises(SigningError, match="'1/alias.pb' is a symlink"):
        sign_model(model, tmp_path / "m.sig", private_key_path=keys[0])
    assert not (tmp_path / "m.sig").exists()
