"""policy.effective: runs meet the floor by tightening only; shortfalls are named one per line."""

from __future__ import annotations

import dataclasses
import random
from types import MappingProxyType

import pytest

from kfp_mlsecops import constants as c
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.policy import (
    EvidenceFloor,
    Policy,
    PolicyFloor,
    Tightened,
    evaluation_violations,
    load_floor,
    meets,
    policy_violations,
    tighten,
)

ALL_FLAGS = tuple(c.MASKING_FLAGS)
UNIT = (0.0, 1.0)


def _floor(**changes) -> PolicyFloor:
    """A 'prod' v3 floor: clean 0.9, robust 0.5, epsilon 5% of the range, reliable tier."""
    base = dict(
        name="prod",
        environment="prod",
        version=3,
        min_clean_accuracy=0.9,
        min_robust_accuracy=0.5,
        min_robust_epsilon=0.05,
        robust_attacks=("worst_case",),
        min_tier="reliable",
        min_attack_budget={"pgd": {"steps": 20, "restarts": 1}, "apgd_t": {"n_iter": 30}},
        min_samples=300,
        waivable_masking_flags=(),
        evidence=EvidenceFloor(0.1, 0.99, 0),
        source="prod.yaml",
    )
    base.update(changes)
    return PolicyFloor(**base)


LOOSE = Policy(0.0, 0.0, "pgd", 0.0, allow_masking_flags=ALL_FLAGS)


# --- tighten -----------------------------------------------------------------------------------


def test_tighten_raises_every_loose_threshold_and_notes_each_change():
    result = tighten(LOOSE, _floor(), input_range=UNIT)
    assert isinstance(result, Tightened)
    assert result.policy == Policy(0.9, 0.5, "worst_case", 0.05)
    assert result.notes == (
        "min_clean_accuracy 0 raised to the floor 0.9 (policy 'prod' v3)",
        "min_robust_accuracy 0 raised to the floor 0.5 (policy 'prod' v3)",
        "robust_epsilon 0 raised to the floor 0.05 (0.05 of the input range width 1) "
        "(policy 'prod' v3)",
        "robust_attack 'pgd' replaced by 'worst_case' (policy 'prod' v3 allows 'worst_case')",
        "allow_masking_flags 'blackbox_beats_whitebox', 'single_step_beats_iterative', "
        "'no_convergence_at_large_eps', 'degenerate_gradients' dropped: they block "
        "(policy 'prod' v3 lets a run waive none)",
    )


def test_tighten_keeps_a_stricter_run_as_is():
    strict = Policy(0.99, 0.8, "worst_case", 0.1)
    result = tighten(strict, _floor(), input_range=UNIT)
    assert result.policy == strict
    assert result.notes == ()


def test_tighten_scales_the_floor_epsilon_to_the_input_range():
    result = tighten(LOOSE, _floor(), input_range=(0.0, 255.0))
    assert result.policy.robust_epsilon == pytest.approx(12.75)
    assert any("robust_epsilon 0 raised to the floor 12.75" in n for n in result.notes)
    kept = tighten(dataclasses.replace(LOOSE, robust_epsilon=20.0), _floor(), input_range=(0, 255))
    assert kept.policy.robust_epsilon == 20.0


def test_tighten_keeps_an_allowed_attack_and_only_waivable_flags():
    floor = _floor(
        robust_attacks=("pgd", "worst_case"),
        waivable_masking_flags=("degenerate_gradients",),
    )
    result = tighten(LOOSE, floor, input_range=UNIT)
    assert result.policy.robust_attack == "pgd"
    assert result.policy.allow_masking_flags == ("degenerate_gradients",)
    assert result.notes[-1] == (
        "allow_masking_flags 'blackbox_beats_whitebox', 'single_step_beats_iterative', "
        "'no_convergence_at_large_eps' dropped: they block (policy 'prod' v3 lets a run waive "
        "'degenerate_gradients')"
    )


@pytest.mark.parametrize(
    "input_range",
    [(1.0, 0.0), (0.0, 0.0), (0.0, float("nan")), (0.0,), (0.0, 1.0, 2.0), "01", (False, True)],
)
def test_tighten_refuses_an_unusable_input_range(input_range):
    with pytest.raises(InvalidInputError, match=r"input_range=.* must be \(lower, upper\)"):
        tighten(LOOSE, _floor(), input_range=input_range)


def _random_floor(rng: random.Random) -> PolicyFloor:
    others = [a for a in c.ATTACK_NAMES if rng.random() < 0.3]
    return _floor(
        name=f"env-{rng.randrange(100)}",
        version=rng.randrange(1, 50),
        min_clean_accuracy=rng.choice([0.0, 1.0, rng.random()]),
        min_robust_accuracy=rng.choice([0.0, 1.0, rng.random()]),
        min_robust_epsilon=rng.choice([0.0, 1.0, rng.random()]),
        robust_attacks=tuple(rng.sample(["worst_case", *others], k=len(others) + 1)),
        waivable_masking_flags=tuple(f for f in ALL_FLAGS if rng.random() < 0.5),
    )


def _random_run(rng: random.Random) -> Policy:
    return Policy(
        min_clean_accuracy=rng.choice([0.0, 1.0, rng.random()]),
        min_robust_accuracy=rng.choice([0.0, 1.0, rng.random()]),
        robust_attack=rng.choice([*c.ATTACK_NAMES, "worst_case"]),
        robust_epsilon=rng.choice([0.0, rng.random(), rng.uniform(0, 300)]),
        allow_masking_flags=tuple(f for f in ALL_FLAGS if rng.random() < 0.5),
    )


def test_tighten_never_loosens_seeded_sweep():
    rng = random.Random(20261201)
    for _ in range(2000):
        floor, run = _random_floor(rng), _random_run(rng)
        lower = rng.choice([0.0, -1.0, rng.uniform(-10, 10)])
        input_range = (lower, lower + rng.choice([1.0, 255.0, rng.uniform(1e-3, 100)]))
        width = input_range[1] - input_range[0]
        result = tighten(run, floor, input_range=input_range)
        eff = result.policy
        case = (run, floor, input_range)
        assert eff.min_clean_accuracy >= max(run.min_clean_accuracy, floor.min_clean_accuracy)
        assert eff.min_robust_accuracy >= max(run.min_robust_accuracy, floor.min_robust_accuracy)
        assert eff.robust_epsilon >= run.robust_epsilon, case
        assert eff.robust_epsilon >= floor.min_robust_epsilon * width, case
        assert eff.robust_attack in floor.robust_attacks, case
        assert eff.robust_attack in (run.robust_attack, c.WORST_CASE), case
        assert set(eff.allow_masking_flags) <= set(run.allow_masking_flags), case
        assert set(eff.allow_masking_flags) <= set(floor.waivable_masking_flags), case
        assert policy_violations(eff, floor, input_range=input_range) == (), case
        assert (result.notes == ()) == (eff == run), case
        again = tighten(eff, floor, input_range=input_range)
        assert again.policy == eff and again.notes == (), case


# --- evaluation_violations ---------------------------------------------------------------------

GOOD = dict(
    tier="reliable",
    attack_params={
        "apgd_ce": {"n_iter": 100, "restarts": 1, "seed": 0},
        "apgd_t": {"n_iter": 30, "n_targets": 9},
        "square": {"n_queries": 1000},
    },
    n_samples=300,
    epsilons=[0.0, 0.05, 0.1],
    robust_epsilon=0.05,
    robust_attack="worst_case",
)


def _evaluate(**changes):
    return evaluation_violations(_floor(), **{**GOOD, **changes})


def test_an_evaluation_that_meets_the_floor_has_no_violations():
    assert _evaluate() == ()
    # an epsilon within 1e-9 is the same epsilon; a higher budget or sample count is fine
    assert _evaluate(robust_epsilon=0.05 + 5e-10, n_samples=10_000) == ()
    assert _evaluate(attack_params={**GOOD["attack_params"], "apgd_t": {"n_iter": 31.0}}) == ()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"tier": "fast"},
            "tier 'fast' is below the floor 'reliable' (policy 'prod' v3); run attack_test with "
            "tier=reliable",
        ),
        (
            {"tier": "thorough"},
            "tier 'thorough' is unknown; the floor 'reliable' (policy 'prod' v3) needs one of "
            "'fast', 'reliable': run attack_test with tier=reliable",
        ),
        (
            {"attack_params": {"pgd": {"steps": 10, "restarts": 1}, "apgd_t": {"n_iter": 30}}},
            "attack 'pgd' steps=10 is below the floor 20 (policy 'prod' v3); run it with "
            "steps >= 20",
        ),
        (
            {"attack_params": {"pgd": {"steps": 20}, "apgd_t": {"n_iter": 30}}},
            "attack 'pgd' restarts=not recorded is below the floor 1 (policy 'prod' v3); run it "
            "with restarts >= 1",
        ),
        (
            {"attack_params": {"pgd": {"steps": True, "restarts": 1}, "apgd_t": {"n_iter": 30}}},
            "attack 'pgd' steps=True is below the floor 20",
        ),
        (
            {"n_samples": 299},
            "n_samples=299 is below the floor 300 (policy 'prod' v3); evaluate at least 300 test "
            "points",
        ),
        ({"n_samples": True}, "n_samples=True is below the floor 300"),
        (
            {"robust_epsilon": 0.06},
            "robust_epsilon=0.06 was not evaluated (epsilons: 0, 0.05, 0.1; policy 'prod' v3); "
            "add it to the attack epsilons",
        ),
        (
            {"robust_epsilon": 0.05, "epsilons": [0.0, 0.0501]},
            "robust_epsilon=0.05 was not evaluated (epsilons: 0, 0.0501;",
        ),
        (
            {
                "robust_attack": "pgd",
                "attack_params": {**GOOD["attack_params"], "pgd": {"steps": 20, "restarts": 1}},
            },
            "robust_attack='pgd' is not allowed by the floor (policy 'prod' v3 allows "
            "'worst_case'); gate on one of those",
        ),
    ],
)
def test_each_evaluation_shortfall_is_one_line(changes, expected):
    lines = _evaluate(**changes)
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected), lines[0]


def test_gating_on_an_attack_that_did_not_run_is_a_violation():
    floor = _floor(robust_attacks=("worst_case", "fgsm"))
    lines = evaluation_violations(floor, **{**GOOD, "robust_attack": "fgsm"})
    assert lines == (
        "robust_attack='fgsm' was not run (ran: 'apgd_ce', 'apgd_t', 'square'; policy 'prod' v3); "
        "run it or gate on worst_case",
    )


def test_attacks_without_a_floor_budget_and_unrun_budgeted_attacks_are_not_violations():
    params = {**GOOD["attack_params"], "fgsm": {}, "square": {"n_queries": 1}}
    assert _evaluate(attack_params=params) == ()  # the floor sets no square/fgsm budget
    # pgd has a floor budget but did not run: nothing to check
    assert "pgd" not in GOOD["attack_params"]


def test_every_shortfall_is_reported_at_once():
    lines = _evaluate(
        tier="fast",
        attack_params={"pgd": {"steps": 1, "restarts": 0}},
        n_samples=1,
        epsilons=[0.1],
        robust_attack="apgd_ce",
    )
    assert len(lines) == 7
    assert all("policy 'prod' v3" in line and "\n" not in line for line in lines)


# --- policy_violations -------------------------------------------------------------------------


def test_an_effective_policy_at_the_floor_has_no_violations():
    floor = _floor(waivable_masking_flags=("degenerate_gradients",))
    at_floor = Policy(0.9, 0.5, "worst_case", 0.05, allow_masking_flags=["degenerate_gradients"])
    assert policy_violations(at_floor, floor, input_range=UNIT) == ()
    # the floor epsilon scales with the range; within 1e-9 is equal
    assert (
        policy_violations(
            dataclasses.replace(at_floor, robust_epsilon=12.75 - 1e-10), floor, input_range=(0, 255)
        )
        == ()
    )


def test_a_looser_policy_names_every_field():
    lines = policy_violations(LOOSE, _floor(), input_range=(0.0, 2.0))
    fix = "gate the model again under this floor"
    assert lines == (
        f"min_clean_accuracy 0 is below the floor 0.9 (policy 'prod' v3); {fix}",
        f"min_robust_accuracy 0 is below the floor 0.5 (policy 'prod' v3); {fix}",
        "robust_epsilon 0 is below the floor 0.1 (0.05 of the input range width 2; policy 'prod' "
        f"v3); {fix}",
        "robust_attack 'pgd' is not allowed by the floor (policy 'prod' v3 allows 'worst_case'); "
        f"{fix}",
        "allow_masking_flags 'blackbox_beats_whitebox', 'single_step_beats_iterative', "
        "'no_convergence_at_large_eps', 'degenerate_gradients' may not be waived (policy 'prod' "
        f"v3 allows none); {fix}",
    )


def test_an_approval_judged_by_a_weaker_floor_fails_a_stricter_one():
    dev = load_floor(None)
    approved = tighten(LOOSE, dev, input_range=UNIT).policy
    assert policy_violations(approved, dev, input_range=UNIT) == ()
    assert len(policy_violations(approved, _floor(), input_range=UNIT)) == 3


# --- meets -------------------------------------------------------------------------------------

POLICY = Policy(0.9, 0.5, "pgd", 0.1, allow_masking_flags=["degenerate_gradients"])


def test_meets_passes_numbers_at_the_thresholds_and_waived_flags():
    assert meets(POLICY, clean_accuracy=0.9, robust_accuracy=0.5, raised_flags=()) == ()
    assert (
        meets(POLICY, clean_accuracy=1, robust_accuracy=0.7, raised_flags=["degenerate_gradients"])
        == ()
    )


def test_meets_names_each_failed_check():
    lines = meets(
        POLICY,
        clean_accuracy=0.8,
        robust_accuracy=0.4,
        raised_flags={"blackbox_beats_whitebox", "degenerate_gradients", "new_flag"},
    )
    assert lines == (
        "clean_accuracy 0.8 is below min_clean_accuracy 0.9",
        "robust_accuracy 0.4 (pgd at epsilon 0.1) is below min_robust_accuracy 0.5",
        "masking flag 'blackbox_beats_whitebox' is raised and not waived (allow_masking_flags: "
        "'degenerate_gradients')",
        "masking flag 'new_flag' is raised and not waived (allow_masking_flags: "
        "'degenerate_gradients')",
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"clean_accuracy": float("nan")}, "clean_accuracy=nan must be a number in [0, 1]"),
        ({"robust_accuracy": True}, "robust_accuracy=True must be a number in [0, 1]"),
        ({"robust_accuracy": 1.01}, "robust_accuracy=1.01 must be a number in [0, 1]"),
        ({"raised_flags": "degenerate_gradients"}, "must be a collection of masking flag ids"),
        ({"raised_flags": [None]}, "must be a collection of masking flag ids"),
    ],
)
def test_meets_refuses_unusable_numbers(kwargs, message):
    args = {"clean_accuracy": 0.95, "robust_accuracy": 0.6, "raised_flags": (), **kwargs}
    with pytest.raises(InvalidInputError) as info:
        meets(POLICY, **args)
    assert message in str(info.value)


def test_floor_budget_is_read_only_after_construction():
    floor = _floor()
    assert isinstance(floor.min_attack_budget, MappingProxyType)
    assert isinstance(floor.min_attack_budget["pgd"], MappingProxyType)
