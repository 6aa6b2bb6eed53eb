"""The genuine chain is approved with a signed approval; the approval is the gate's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _forge import decision, failed
from _release import POLICY, Release

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import GateRejected, InvalidInputError, VerificationError
from kfp_mlsecops.gate import run_gate, verify_approval
from kfp_mlsecops.signing import SigningConfig, VerificationConfig

pytestmark = pytest.mark.slow


def _approval_trust(release: Release) -> VerificationConfig:
    return VerificationConfig().use_key(public_key_path=release.approval_public_key)


def test_genuine_chain_is_approved_with_every_control(release: Release) -> None:
    doc = json.loads(release.decision.read_text())
    assert doc[C.SCHEMA] == C.DECISION_SCHEMA
    assert doc[C.DECISION] == C.DECISION_APPROVED and doc[C.BLESSED] is True
    ids = [c["id"] for c in doc[C.CONTROLS]]
    assert set(C.REQUIRED_CONTROLS) <= set(ids)
    assert all(c["passed"] is True for c in doc[C.CONTROLS])
    assert doc["floor"]["source"] == "builtin" and doc["floor"]["name"] == "builtin-default"
    record = doc["rederivation"]
    assert record["unreproduced"] == 0 and record["sampled"] >= 1
    assert record["detection_probability"] >= 0.99
    assert record["clean_accuracy"] == pytest.approx(record["claimed_clean_accuracy"], abs=0.01)


def test_approval_names_the_model_policy_floor_and_evidence(release: Release) -> None:
    approval = verify_approval(
        release.approval,
        verification=_approval_trust(release),
        expected_model_digest=release.digest,
    )
    assert approval.model_digest == release.digest
    assert approval.policy.min_robust_accuracy >= POLICY.min_robust_accuracy
    assert approval.floor.name == "builtin-default" and approval.floor.digest.startswith("sha256:")
    from kfp_mlsecops._io import sha256_file

    for key, path in (
        ("results", release.results),
        ("attestation", release.attestation),
        ("signature", release.signature),
    ):
        assert approval.evidence[key] == "sha256:" + sha256_file(path)
    assert approval.evidence["test_data"] == release.test_digest
    assert set(C.REQUIRED_CONTROLS) <= set(approval.controls)
    assert 0.9 <= approval.measured["clean_accuracy"] <= 1.0


def test_approval_verifies_only_with_the_gate_key(release: Release) -> None:
    with pytest.raises(VerificationError, match="approval .*do not deploy"):
        verify_approval(
            release.approval,
            verification=VerificationConfig().use_key(public_key_path=release.public_key),
            expected_model_digest=release.digest,
        )


def test_approval_is_for_exactly_one_model(release: Release) -> None:
    with pytest.raises(VerificationError, match="is about model .* not the signed model"):
        verify_approval(
            release.approval,
            verification=_approval_trust(release),
            expected_model_digest="sha256:" + "0" * 64,
        )


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_false_block_on_the_genuine_chain_whatever_the_gate_seed(
    fresh_release: Release, seed: int
) -> None:
    run_gate(**fresh_release.gate_kwargs(gate_seed=seed))
    record = decision(fresh_release)["rederivation"]
    assert record["gate_seed"] == seed and record["unreproduced"] == 0


def test_decision_is_byte_stable_for_a_fixed_gate_seed(
    fresh_release: Release, tmp_path: Path
) -> None:
    run_gate(**fresh_release.gate_kwargs(gate_seed=7))
    first = fresh_release.decision.read_bytes()
    run_gate(**fresh_release.gate_kwargs(gate_seed=7))
    assert fresh_release.decision.read_bytes() == first


def test_a_fresh_seed_is_drawn_and_recorded_when_none_is_given(fresh_release: Release) -> None:
    seeds = set()
    for _ in range(2):
        run_gate(**fresh_release.gate_kwargs(gate_seed=None))
        seeds.add(decision(fresh_release)["rederivation"]["gate_seed"])
    assert len(seeds) == 2


def test_approval_signed_with_the_model_key_is_refused(fresh_release: Release) -> None:
    fresh_release.approval.unlink()
    same_key = SigningConfig().use_key(private_key_path=fresh_release.private_key)
    with pytest.raises(
        GateRejected, match="approval_signed: the approval key is the model-signing"
    ):
        run_gate(**fresh_release.gate_kwargs(approval_signing=same_key, gate_seed=0))
    assert not fresh_release.approval.exists()
    assert decision(fresh_release)[C.DECISION] == C.DECISION_BLOCKED


def test_unusable_approval_key_blocks_and_writes_no_approval(
    fresh_release: Release, tmp_path: Path
) -> None:
    fresh_release.approval.unlink()
    missing = SigningConfig().use_key(private_key_path=tmp_path / "absent.pem")
    with pytest.raises(GateRejected, match="approval_signed"):
        run_gate(**fresh_release.gate_kwargs(approval_signing=missing, gate_seed=0))
    assert not fresh_release.approval.exists()
    assert failed(fresh_release) == {"approval_signed"}


def test_policy_and_approval_signing_types_are_checked(fresh_release: Release) -> None:
    with pytest.raises(InvalidInputError, match="policy must be a gate Policy"):
        run_gate(**fresh_release.gate_kwargs(policy={"min_clean_accuracy": 0.9}))
    with pytest.raises(InvalidInputError, match="approval_signing must be a SigningConfig"):
        run_gate(**fresh_release.gate_kwargs(approval_signing=fresh_release.approval_key))
