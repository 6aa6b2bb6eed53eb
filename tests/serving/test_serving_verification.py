"""The predictor serves a private copy only after the checks deploy makes: a signature alone,
or a signature plus attestation, never serves (finding 3); the approval must be the gate's."""

from __future__ import annotations

import json
import stat
import tempfile

import pytest
from _release import Release

from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.policy import load_floor
from kfp_mlsecops.serving import VerificationPolicy, stage_verified_model
from kfp_mlsecops.serving.policy import policy_for_method
from kfp_mlsecops.signing import VerificationConfig, generate_key_pair, sign_model

pytestmark = pytest.mark.slow


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Route tempfile's private copies into a folder the test can inspect."""
    folder = tmp_path / "private"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def policy(release: Release, **overrides) -> VerificationPolicy:
    kwargs = dict(
        signature_path=release.signature,
        attestation_path=release.attestation,
        approval_path=release.approval,
        verification=VerificationConfig().use_key(public_key_path=release.public_key),
        approval_verification=VerificationConfig().use_key(
            public_key_path=release.approval_public_key
        ),
        floor=load_floor(None),
    )
    kwargs.update(overrides)
    return VerificationPolicy(**kwargs)


def test_an_approved_private_copy_is_staged_and_cleaned_up(fresh_release, private_tmp):
    model = fresh_release.model
    staged = stage_verified_model(model, policy(fresh_release))
    assert staged.digest == fresh_release.digest
    assert staged.path.is_relative_to(private_tmp) and staged.source == model
    pb = "1/saved_model.pb"
    assert (staged.path / pb).read_bytes() == (model / pb).read_bytes()
    root = staged.path.parent
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    # Changing the original after verification cannot reach the served copy.
    (model / pb).write_bytes(b"swapped")
    assert (staged.path / pb).read_bytes() != b"swapped"
    staged.cleanup()
    assert not root.exists()


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda m: (m / "1" / "variables" / "variables.index").write_bytes(b"x"), "files changed"),
        (lambda m: (m / "2").mkdir(), "'2/' is an empty folder"),
        (lambda m: (m / "extra.py").write_text("import os"), "'extra.py' is not part"),
    ],
)
def test_tampered_models_are_refused_naming_the_users_paths(
    fresh_release, private_tmp, tamper, reason
):
    model = fresh_release.model
    tamper(model)
    with pytest.raises(VerificationError) as info:
        stage_verified_model(model, policy(fresh_release))
    message = str(info.value)
    assert reason in message and str(private_tmp) not in message
    assert message.endswith("not serving it") and "\n" not in message
    assert list(private_tmp.iterdir()) == []  # nothing left behind


def test_finding_3_signature_and_attestation_without_the_approval_never_serve(
    fresh_release, tmp_path, private_tmp
):
    fresh_release.approval.unlink()
    with pytest.raises(VerificationError, match="approval .* does not exist"):
        stage_verified_model(fresh_release.model, policy(fresh_release))
    decision = json.loads(fresh_release.decision.read_text())  # the unsigned decision file
    fresh_release.approval.write_text(json.dumps(decision))
    with pytest.raises(VerificationError, match="approval"):
        stage_verified_model(fresh_release.model, policy(fresh_release))
    assert list(private_tmp.iterdir()) == []


def test_the_approval_must_be_the_gates_not_the_signers(fresh_release, tmp_path):
    model_trust = VerificationConfig().use_key(public_key_path=fresh_release.public_key)
    with pytest.raises(VerificationError, match="separation of duties"):
        stage_verified_model(
            fresh_release.model, policy(fresh_release, approval_verification=model_trust)
        )
    generate_key_pair(tmp_path / "o.pem", tmp_path / "o.pub")
    other = VerificationConfig().use_key(public_key_path=tmp_path / "o.pub")
    with pytest.raises(VerificationError, match="approval"):
        stage_verified_model(
            fresh_release.model, policy(fresh_release, approval_verification=other)
        )


def test_wrong_model_key_other_digest_and_the_serving_floor_are_refused(
    fresh_release, tmp_path, private_tmp
):
    generate_key_pair(tmp_path / "o.pem", tmp_path / "o.pub")
    wrong = VerificationConfig().use_key(public_key_path=tmp_path / "o.pub")
    with pytest.raises(VerificationError):
        stage_verified_model(fresh_release.model, policy(fresh_release, verification=wrong))
    other = "sha256:" + "0" * 64
    with pytest.raises(VerificationError, match="swapped in"):
        stage_verified_model(fresh_release.model, policy(fresh_release, expected_digest=other))
    from pathlib import Path

    prod = Path(__file__).resolve().parents[2] / "manifests/policy/prod/policy.yaml"
    with pytest.raises(VerificationError, match="policy floor: .*prod"):
        stage_verified_model(fresh_release.model, policy(fresh_release, floor=load_floor(prod)))
    with pytest.raises(VerificationError, match="not a directory"):
        stage_verified_model(tmp_path / "nothing", policy(fresh_release))
    assert list(private_tmp.iterdir()) == []


def test_a_re_signed_bundle_is_not_the_approved_evidence(fresh_release):
    sign_model(
        fresh_release.model, fresh_release.signature, private_key_path=fresh_release.private_key
    )
    with pytest.raises(VerificationError, match="not the one the gate approved"):
        stage_verified_model(fresh_release.model, policy(fresh_release))


def test_incomplete_policies_are_refused(fresh_release):
    with pytest.raises(InvalidInputError, match="verification must be"):
        policy(fresh_release, verification=object())
    with pytest.raises(InvalidInputError, match="floor must be"):
        policy(fresh_release, floor=None)
    with pytest.raises(InvalidInputError, match="sha256"):
        policy(fresh_release, expected_digest="abc")


def test_policy_for_method_builds_the_same_checks(fresh_release):
    built = policy_for_method(
        "key",
        signature_path=fresh_release.signature,
        attestation_path=fresh_release.attestation,
        approval_path=fresh_release.approval,
        approval_public_key_path=fresh_release.approval_public_key,
        public_key_path=fresh_release.public_key,
    )
    staged = stage_verified_model(fresh_release.model, built)
    assert staged.digest == fresh_release.digest
    staged.cleanup()
