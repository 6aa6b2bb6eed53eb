"""P2: the gate re-derives the evidence; forged or replaced evidence is blocked.

Each test plays one attacker: a compromised attack-test step (its results are then attested
with the real key, as attest-robustness signs what it is handed), or a write to the artifact
store (results, test split). Every block names the control that caught it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace

import numpy as np
import pytest
from _forge import decision, edit_json, failed, forge, inflate, load
from _release import EPSILONS, POLICY, Release

from kfp_mlsecops import constants as C
from kfp_mlsecops.data.split_io import Split, load_split, save_split
from kfp_mlsecops.errors import GateRejected
from kfp_mlsecops.gate import run_gate

pytestmark = pytest.mark.slow

GATED = POLICY.robust_epsilon


def _blocked(release: Release, *, seed: int = 0) -> set[str]:
    release.approval.unlink(missing_ok=True)
    with pytest.raises(GateRejected) as info:
        run_gate(**release.gate_kwargs(gate_seed=seed))
    message = str(info.value)
    assert "\n" not in message and message.endswith("do not deploy")
    assert not release.approval.exists(), "a blocked gate must not leave an approval"
    return failed(release)


def test_finding_1_results_with_every_accuracy_set_to_one_are_blocked(
    fresh_release: Release,
) -> None:
    """The review's forgery: every number 1.0, the right digest, re-attested."""

    def all_ones(doc: dict) -> None:
        doc[C.CLEAN_ACCURACY] = 1.0
        for row in doc[C.ATTACKS] + doc[C.WORST_CASE]:
            row[C.ROBUST_ACCURACY] = 1.0

    edit_json(fresh_release, all_ones)
    blocked = _blocked(fresh_release)
    assert {"evidence.clean", "evidence.robust", "clean_accuracy", "robust_accuracy"} <= blocked
    detail = {c["id"]: c["detail"] for c in decision(fresh_release)["controls"]}
    assert "robustness results" in detail["evidence.robust"]  # the bits do not say 1.0


def test_consistent_forgery_claiming_every_point_robust_is_blocked(fresh_release: Release) -> None:
    results = load(fresh_release)
    everything = dataclasses.replace(
        results,
        clean_correct=np.ones_like(results.clean_correct),
        outcomes={k: np.ones_like(v) for k, v in results.outcomes.items()},
    )
    forge(fresh_release, everything)
    blocked = _blocked(fresh_release)
    assert {"evidence.clean", "evidence.robust"} <= blocked
    controls = {c["id"]: c for c in decision(fresh_release)["controls"]}
    assert "clean outcome(s) differ" in controls["evidence.clean"]["detail"]
    assert "forged or not reproducible" in controls["evidence.robust"]["detail"]
    # the gate acts on its own clean accuracy, never on the forged 1.0
    assert controls["clean_accuracy"]["measured"] < 1.0


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_robust_accuracy_inflated_by_ten_points_is_detected(
    fresh_release: Release, seed: int
) -> None:
    results = load(fresh_release)
    forged = inflate(results, points=0.10, epsilon=GATED)
    assert forged.robust_accuracy(C.WORST_CASE, GATED) == pytest.approx(
        results.robust_accuracy(C.WORST_CASE, GATED) + 0.10, abs=1 / results.n_samples
    )
    forge(fresh_release, forged)
    assert "evidence.robust" in _blocked(fresh_release, seed=seed)
    record = decision(fresh_release)["rederivation"]
    assert len(record["broken_again"]) >= 1 if isinstance(record["broken_again"], list) else True
    assert record["detection_probability"] >= 0.99


def test_robust_claims_on_clean_misclassified_points_are_all_caught(
    fresh_release: Release,
) -> None:
    """Claiming a clean-wrong point robust is caught for every such point, not by sampling."""
    results = load(fresh_release)
    wrong = np.flatnonzero(~results.clean_correct)
    assert len(wrong) >= 1
    outcomes = {}
    for name, bits in results.outcomes.items():
        edited = np.array(bits)
        edited[0, wrong[:1]] = True  # survived at the smallest epsilon although clean-wrong
        outcomes[name] = edited
    clean = np.array(results.clean_correct)
    clean[wrong[:1]] = True  # and claimed clean-correct, to stay consistent
    forge(fresh_release, dataclasses.replace(results, clean_correct=clean, outcomes=outcomes))
    blocked = _blocked(fresh_release)
    assert {"evidence.clean", "evidence.robust"} <= blocked
    record = decision(fresh_release)["rederivation"]
    assert int(results.sample_ids[wrong[0]]) in record["robust_but_clean_wrong"]


def test_results_from_a_weaker_attack_than_declared_are_re_attacked_and_blocked(
    fresh_release: Release, tmp_path
) -> None:
    """attack-test attacked a ball 8x smaller than it declares; the gate re-runs the declared."""
    from kfp_mlsecops.attacks.report import run_attack_test

    weak = tmp_path / "weak.json"
    run_attack_test(
        model_path=fresh_release.model,
        test_path=fresh_release.test_split,
        results_path=weak,
        report_md_path=tmp_path / "weak.md",
        epsilons=[e / 8 for e in EPSILONS],
    )
    doc = json.loads(weak.read_text())
    doc[C.EPSILONS] = list(EPSILONS)  # relabel every budget as the declared one
    for row in doc[C.ATTACKS] + doc[C.WORST_CASE]:
        row[C.EPSILON] = EPSILONS[[e / 8 for e in EPSILONS].index(row[C.EPSILON])]
    at = 0.1  # gated where the smaller ball makes the most difference
    genuine = load(fresh_release).robust_accuracy(C.WORST_CASE, at)
    claimed = doc[C.WORST_CASE][1][C.ROBUST_ACCURACY]
    assert claimed >= genuine + 0.10  # a forgery the floor's evidence settings must catch
    forge(fresh_release, doc)
    fresh_release.approval.unlink()
    with pytest.raises(GateRejected, match="evidence.robust"):
        run_gate(
            **fresh_release.gate_kwargs(gate_seed=0, policy=replace(POLICY, robust_epsilon=at))
        )
    assert "evidence.robust" in failed(fresh_release)


def test_test_split_replaced_in_the_artifact_store_is_blocked(fresh_release: Release) -> None:
    split = load_split(fresh_release.test_split)
    easy = Split(split.x[:-1], split.y[:-1], split.lower, split.upper, split.n_classes)
    save_split(fresh_release.test_split, easy)
    blocked = _blocked(fresh_release)
    assert "evidence.data" in blocked
    detail = {c["id"]: c["detail"] for c in decision(fresh_release)["controls"]}
    assert "the split was replaced" in detail["evidence.data"]


def test_results_computed_on_another_split_are_blocked(fresh_release: Release) -> None:
    def other_split(doc: dict) -> None:
        doc[C.TEST_DATA_DIGEST] = "sha256:" + "1" * 64

    edit_json(fresh_release, other_split)
    assert "evidence.data" in _blocked(fresh_release)


def test_results_changed_after_attestation_are_blocked(fresh_release: Release) -> None:
    results = load(fresh_release)
    forge(fresh_release, inflate(results, points=0.05, epsilon=GATED), attest=False)
    assert "robustness_attestation" in _blocked(fresh_release)


def test_results_of_another_model_are_blocked(fresh_release: Release) -> None:
    def other_model(doc: dict) -> None:
        doc[C.MODEL_DIGEST] = "sha256:" + "2" * 64

    edit_json(fresh_release, other_model, attest=False)
    blocked = _blocked(fresh_release)
    assert {"evidence_binding", "robustness_attestation"} <= blocked


def test_missing_results_block_every_dependent_control(fresh_release: Release) -> None:
    fresh_release.results.unlink()
    blocked = _blocked(fresh_release)
    assert {"evidence_binding", "evidence.data", "evidence.robust", "robust_accuracy"} <= blocked
