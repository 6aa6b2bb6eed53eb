"""P4: the organisation's policy floor; run parameters may tighten it, never loosen it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from _forge import decision, failed
from _release import Release

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import GateRejected
from kfp_mlsecops.gate import run_gate, verify_approval
from kfp_mlsecops.policy import Policy, load_floor
from kfp_mlsecops.signing import VerificationConfig

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
LAX = Policy(
    min_clean_accuracy=0.0,
    min_robust_accuracy=0.0,
    robust_attack="fgsm",
    robust_epsilon=0.0,
    allow_masking_flags=C.MASKING_FLAGS,
)


def _floor(tmp_path: Path, **spec: object) -> Path:
    doc = yaml.safe_load((REPO / "src/kfp_mlsecops/policy/default.yaml").read_text())
    doc["metadata"]["name"] = "test"
    doc["spec"].update(spec)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _blocked(release: Release, **overrides: object) -> set[str]:
    release.approval.unlink(missing_ok=True)
    with pytest.raises(GateRejected):
        run_gate(**release.gate_kwargs(gate_seed=0, **overrides))
    assert not release.approval.exists()
    return failed(release)


def test_finding_4_a_lax_run_policy_is_raised_to_the_builtin_floor(fresh_release: Release) -> None:
    """min robust 0, epsilon 0, any attack, every flag waived: the floor still applies."""
    blocked = _blocked(fresh_release, policy=LAX)
    assert blocked == {"policy_floor"}
    doc = decision(fresh_release)
    effective, floor = doc[C.POLICY], load_floor(None)
    assert effective["min_robust_accuracy"] == floor.min_robust_accuracy
    assert effective["min_clean_accuracy"] == floor.min_clean_accuracy
    assert effective["robust_attack"] == C.WORST_CASE
    assert effective["robust_epsilon"] == pytest.approx(floor.min_robust_epsilon)
    assert effective["allow_masking_flags"] == []
    assert doc["run_policy"]["min_robust_accuracy"] == 0.0
    assert any("raised to the floor" in note for note in doc["notes"])
    detail = {c["id"]: c["detail"] for c in doc["controls"]}
    assert "was not evaluated" in detail["policy_floor"]  # 0.03 is not among the epsilons


def test_run_parameters_may_tighten_the_floor(fresh_release: Release) -> None:
    strict = Policy(
        min_clean_accuracy=0.99,
        min_robust_accuracy=0.5,
        robust_attack="worst_case",
        robust_epsilon=0.05,
    )
    assert "clean_accuracy" in _blocked(fresh_release, policy=strict)
    assert decision(fresh_release)[C.POLICY]["min_clean_accuracy"] == 0.99


def test_floor_demanding_the_reliable_tier_blocks_a_fast_evaluation(
    fresh_release: Release, tmp_path: Path
) -> None:
    floor = _floor(tmp_path, min_tier="reliable")
    assert _blocked(fresh_release, floor_path=floor) == {"policy_floor"}
    detail = {c["id"]: c["detail"] for c in decision(fresh_release)["controls"]}
    assert "tier 'fast' is below the floor 'reliable'" in detail["policy_floor"]


def test_floor_demanding_more_pgd_steps_or_samples_blocks(
    fresh_release: Release, tmp_path: Path
) -> None:
    floor = _floor(tmp_path, min_attack_budget={"pgd": {"steps": 50}}, min_samples=5000)
    assert _blocked(fresh_release, floor_path=floor) == {"policy_floor"}
    detail = {c["id"]: c["detail"] for c in decision(fresh_release)["controls"]}["policy_floor"]
    assert "steps=20 is below the floor 50" in detail and "n_samples=" in detail


def test_floor_file_that_is_missing_or_invalid_blocks(
    fresh_release: Release, tmp_path: Path
) -> None:
    assert "policy_floor" in _blocked(fresh_release, floor_path=tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: kfp-mlsecops.dev/v1\nkind: PolicyFloor\nspec: {}\n")
    assert "policy_floor" in _blocked(fresh_release, floor_path=bad)
    assert decision(fresh_release)["floor"] is None


def test_the_shipped_environment_floors_apply(fresh_release: Release) -> None:
    staging = REPO / "manifests/policy/staging/policy.yaml"
    run_gate(**fresh_release.gate_kwargs(gate_seed=0, floor_path=staging))
    approval = verify_approval(
        fresh_release.approval,
        verification=VerificationConfig().use_key(
            public_key_path=fresh_release.approval_public_key
        ),
        expected_model_digest=fresh_release.digest,
    )
    assert approval.floor.environment == "staging"
    assert approval.floor.digest == load_floor(staging).digest
    prod = REPO / "manifests/policy/prod/policy.yaml"
    assert "policy_floor" in _blocked(fresh_release, floor_path=prod)  # prod needs reliable
