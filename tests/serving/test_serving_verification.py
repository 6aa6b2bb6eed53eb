from __future__ import annotations

import json
import stat
import tempfile
from pathlib import Path

import pytest

from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.serving import (
    ConfigAttestationVerifier,
    VerificationPolicy,
    stage_verified_model,
)
from kfp_mlsecops.signing import VerificationConfig, generate_key_pair, sign_model


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Route tempfile's private copies into a folder the test can inspect."""
    folder = tmp_path / "private"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    generate_key_pair(folder / "private.pem", folder / "public.pem")
    return folder / "private.pem", folder / "public.pem"


@pytest.fixture
def signed(tmp_path, key_pair):
    model = tmp_path / "model"
    (model / "1").mkdir(parents=True)
    (model / "model.keras").write_bytes(b"keras-zip-bytes" * 10)
    (model / "1" / "saved_model.pb").write_bytes(b"graph")
    (model / "provenance.json").write_text('{"trained": true}\n')
    signature = tmp_path / "model.sig"
    digest = sign_model(model, signature, private_key_path=key_pair[0])
    return model, signature, digest


def policy(signature, public_key, **kwargs):
    return VerificationPolicy(
        signature_path=signature,
        verifier=VerificationConfig().use_key(public_key_path=public_key),
        **kwargs,
    )


class DigestAttestation:
    """A real attestation check for the tests: a JSON file naming the model digest."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def verify(self, attestation_path: Path, model_digest: str) -> None:
        self.seen.append(model_digest)
        if json.loads(attestation_path.read_text())["subject"] != model_digest:
            raise VerificationError(f"attestation '{attestation_path}': subject differs")


def test_a_verified_private_copy_is_staged_and_cleaned_up(signed, key_pair, private_tmp):
    model, signature, digest = signed
    staged = stage_verified_model(model, policy(signature, key_pair[1]))
    assert staged.digest == digest
    assert staged.path.is_relative_to(private_tmp) and staged.source == model
    assert (staged.path / "model.keras").read_bytes() == (model / "model.keras").read_bytes()
    root = staged.path.parent
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    # Changing the original after verification cannot reach the served copy.
    (model / "model.keras").write_bytes(b"swapped")
    assert (staged.path / "model.keras").read_bytes() != b"swapped"
    staged.cleanup()
    assert not root.exists()


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda m: (m / "model.keras").write_bytes(b"evil"), "files changed: model.keras"),
        (lambda m: (m / "extra.py").write_text("import os"), "files added: extra.py"),
        (lambda m: (m / "provenance.json").unlink(), "files removed: provenance.json"),
    ],
)
def test_tampered_models_are_refused_naming_the_users_paths(
    signed, key_pair, private_tmp, tamper, reason
):
    model, signature, _ = signed
    tamper(model)
    with pytest.raises(VerificationError) as info:
        stage_verified_model(model, policy(signature, key_pair[1]))
    message = str(info.value)
    assert reason in message and f"'{model}'" in message and str(private_tmp) not in message
    assert list(private_tmp.iterdir()) == []  # nothing left behind


def test_wrong_key_missing_signature_and_other_digest_are_refused(
    signed, key_pair, tmp_path, private_tmp
):
    model, signature, digest = signed
    generate_key_pair(tmp_path / "o.pem", tmp_path / "o.pub")
    with pytest.raises(VerificationError, match="does not verify"):
        stage_verified_model(model, policy(signature, tmp_path / "o.pub"))
    with pytest.raises(VerificationError, match="does not exist"):
        stage_verified_model(model, policy(tmp_path / "none.sig", key_pair[1]))
    other = "sha256:" + "0" * 64
    with pytest.raises(VerificationError, match="swapped in"):
        stage_verified_model(model, policy(signature, key_pair[1], expected_digest=other))
    staged = stage_verified_model(model, policy(signature, key_pair[1], expected_digest=digest))
    staged.cleanup()
    with pytest.raises(VerificationError, match="not a directory"):
        stage_verified_model(tmp_path / "nothing", policy(signature, key_pair[1]))
    assert list(private_tmp.iterdir()) == []


def test_attestation_is_checked_against_the_verified_digest(signed, key_pair, tmp_path):
    model, signature, digest = signed
    checker = DigestAttestation()
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"subject": digest}))
    staged = stage_verified_model(
        model,
        policy(signature, key_pair[1], attestation_path=good, attestation_verifier=checker),
    )
    staged.cleanup()
    assert checker.seen == [digest]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"subject": "sha256:" + "1" * 64}))
    with pytest.raises(VerificationError, match="subject differs"):
        stage_verified_model(
            model,
            policy(signature, key_pair[1], attestation_path=bad, attestation_verifier=checker),
        )
    with pytest.raises(VerificationError, match="does not exist"):
        stage_verified_model(
            model,
            policy(
                signature,
                key_pair[1],
                attestation_path=tmp_path / "none.json",
                attestation_verifier=checker,
            ),
        )


class ReturnsFalse:
    def verify(self, *args):
        return False


class Explodes:
    def verify(self, *args):
        raise RuntimeError("boom\nsecond line")


def test_verifiers_that_return_false_or_crash_still_block(signed, key_pair, tmp_path):
    model, signature, _ = signed
    with pytest.raises(VerificationError, match="returned False"):
        stage_verified_model(model, VerificationPolicy(signature, ReturnsFalse()))
    with pytest.raises(VerificationError, match="unexpectedly") as info:
        stage_verified_model(model, VerificationPolicy(signature, Explodes()))
    assert "\n" not in str(info.value)
    att = tmp_path / "a.json"
    att.write_text("{}")
    with pytest.raises(VerificationError, match="returned False"):
        stage_verified_model(
            model,
            policy(
                signature, key_pair[1], attestation_path=att, attestation_verifier=ReturnsFalse()
            ),
        )


def test_incomplete_policies_are_refused(tmp_path, key_pair):
    with pytest.raises(InvalidInputError):
        VerificationPolicy(tmp_path / "s", object())
    with pytest.raises(InvalidInputError, match="both"):
        VerificationPolicy(
            tmp_path / "s",
            VerificationConfig().use_key(public_key_path=key_pair[1]),
            attestation_path=tmp_path,
        )
    with pytest.raises(InvalidInputError, match="sha256"):
        VerificationPolicy(
            tmp_path / "s",
            VerificationConfig().use_key(public_key_path=key_pair[1]),
            expected_digest="abc",
        )


def test_key_attestation_verifier_checks_signature_and_subject(signed, key_pair, tmp_path, attest):
    """The real kfp_mlsecops.attestation path: own attestation passes; others are refused."""
    model, signature, digest = signed

    def stage(attestation, public_key=key_pair[1]):
        return stage_verified_model(
            model,
            policy(
                signature,
                key_pair[1],
                attestation_path=attestation,
                attestation_verifier=ConfigAttestationVerifier(
                    VerificationConfig().use_key(public_key_path=public_key)
                ),
            ),
        )

    good = attest(model, key_pair[0], tmp_path / "evidence" / "good.intoto.json")
    staged = stage(good)
    assert staged.digest == digest
    staged.cleanup()
    # An attestation for another model (valid signature, other subject) is refused.
    other = tmp_path / "other"
    (other / "1").mkdir(parents=True)
    (other / "model.keras").write_bytes(b"another model")
    foreign = attest(other, key_pair[0], tmp_path / "evidence" / "other.intoto.json")
    with pytest.raises(VerificationError):
        stage(foreign)
    # Signed with another key than the one trusted.
    generate_key_pair(tmp_path / "o.pem", tmp_path / "o.pub")
    forged = attest(model, tmp_path / "o.pem", tmp_path / "evidence" / "forged.intoto.json")
    with pytest.raises(VerificationError):
        stage(forged)
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"payloadType": "application/vnd.in-toto+json", "payload": ""}')
    with pytest.raises(VerificationError):
        stage(bogus)
