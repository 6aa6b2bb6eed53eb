from __future__ import annotations

import math

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks import check_perturbation, parse_epsilons, validate_epsilons
from kfp_mlsecops.attacks.invariants import INVARIANTS, check_eps_zero, check_monotone
from kfp_mlsecops.errors import AttackError, InvalidInputError

X = np.linspace(0.0, 1.0, 24, dtype=np.float32).reshape(2, 3, 4, 1)


def test_invariant_names_match_the_shared_constants() -> None:
    assert tuple(INVARIANTS) == C.ROBUSTNESS_INVARIANTS


def test_valid_perturbation_passes() -> None:
    delta = np.where(np.arange(X.size).reshape(X.shape) % 2 == 0, 0.1, -0.1).astype(np.float32)
    adversarial = np.clip(X + delta, 0.0, 1.0)
    assert check_perturbation(X, adversarial, epsilon=0.1, lower=0.0, upper=1.0) is None


def test_delta_outside_the_ball_raises() -> None:
    adversarial = X.copy()
    adversarial[1, 0, 0, 0] += 0.1 + 1e-4
    with pytest.raises(AttackError, match=r"1 adversarials leave the L-inf ball") as info:
        check_perturbation(X, adversarial, epsilon=0.1, lower=-1.0, upper=2.0, attack="pgd")
    assert "attack 'pgd' at epsilon 0.1" in str(info.value)


def test_float32_rounding_inside_the_tolerance_passes() -> None:
    adversarial = X + np.float32(0.1) + np.float32(5e-7)
    check_perturbation(X, adversarial, epsilon=0.1, lower=-1.0, upper=2.0)


def test_out_of_range_raises() -> None:
    adversarial = X.copy()
    adversarial[0, 0, 0, 0] = -0.05  # inside the ball of 0.1 but below lower=0
    with pytest.raises(AttackError, match="outside the valid range"):
        check_perturbation(X, adversarial, epsilon=0.1, lower=0.0, upper=1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_or_misshaped_adversarials_raise(bad: float) -> None:
    adversarial = X.copy()
    adversarial[0, 0, 0, 0] = bad
    with pytest.raises(AttackError, match="non-finite"):
        check_perturbation(X, adversarial, epsilon=0.1, lower=0.0, upper=1.0)
    with pytest.raises(AttackError, match="shaped"):
        check_perturbation(X, X[:1], epsilon=0.1, lower=0.0, upper=1.0)


def test_eps_zero_must_reproduce_clean_predictions() -> None:
    clean = np.array([True, True, False, True])
    check_eps_zero(clean, clean.copy(), attack="fgsm")
    with pytest.raises(AttackError, match=r"1 samples differ"):
        check_eps_zero(clean, np.array([True, False, False, True]), attack="fgsm")
    # same accuracy, different samples: still a broken evaluation
    with pytest.raises(AttackError, match=r"2 samples differ"):
        check_eps_zero(clean, np.array([True, True, True, False]), attack="fgsm")


def test_monotone_check() -> None:
    check_monotone([0.0, 0.1, 0.2], [0.9, 0.5, 0.5], what="worst case")
    with pytest.raises(AttackError, match="rises from 0.5 at epsilon 0.1 to 0.6 at 0.2"):
        check_monotone([0.0, 0.1, 0.2], [0.9, 0.5, 0.6], what="worst case")


def test_parse_epsilons() -> None:
    assert parse_epsilons("0.05,0.1") == [0.05, 0.1]
    assert parse_epsilons(" 0 , 1e-2 ") == [0.0, 0.01]
    assert parse_epsilons("[0.3]") == [0.3]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty entry"),
        ("0.1,,0.2", "empty entry"),
        ("0.1,abc", "'abc' is not a number"),
        ("-0.1", "'-0.1' must be a finite number >= 0"),
        ("nan", "'nan' must be a finite"),
        ("inf", "'inf' must be a finite"),
    ],
)
def test_parse_epsilons_rejects_junk(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment) as info:
        parse_epsilons(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "epsilons", [[], [-0.1], [math.nan], [math.inf], [1.5], [True], ["0.1"], "0.1"]
)
def test_validate_epsilons_rejects_bad_budgets(epsilons: object) -> None:
    with pytest.raises(InvalidInputError):
        validate_epsilons(epsilons, lower=0.0, upper=1.0)  # type: ignore[arg-type]


def test_validate_epsilons_accepts_the_full_range() -> None:
    assert validate_epsilons([0, 0.5, 1.0], lower=0.0, upper=1.0) == [0.0, 0.5, 1.0]
    assert validate_epsilons([255], lower=0.0, upper=255.0) == [255.0]


def test_l2_ball_is_checked_per_sample() -> None:
    adversarial = X.copy()
    adversarial[0, :2, 0, 0] += 0.06  # L2 norm 0.0849, L-inf 0.06
    check_perturbation(X, adversarial, epsilon=0.085, lower=-1.0, upper=2.0, norm="l2")
    with pytest.raises(AttackError, match=r"1 adversarials leave the L2 ball"):
        check_perturbation(X, adversarial, epsilon=0.08, lower=-1.0, upper=2.0, norm="l2")
    # per-sample budgets: sample 0 has 0.1, sample 1 has 0 (and is unchanged)
    check_perturbation(X, adversarial, epsilon=np.array([0.1, 0.0]), lower=-1.0, upper=2.0)
    with pytest.raises(AttackError, match="unknown norm 'l1'"):
        check_perturbation(X, adversarial, epsilon=0.1, lower=-1.0, upper=2.0, norm="l1")
