"""How a run's thresholds meet the policy floor: tighten, never loosen, and say what fell short.

Pure functions returning values (one line per change or shortfall, never printed): the gate
calls :func:`tighten` and :func:`evaluation_violations`; deploy and the predictor call
:func:`policy_violations` (their own floor against a signed approval's policy) and :func:`meets`
(that policy against the attested numbers).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kfp_mlsecops import constants as c
from kfp_mlsecops._io import is_number
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.policy.floor import PolicyFloor
from kfp_mlsecops.policy.thresholds import Policy

__all__ = [
    "EPSILON_TOLERANCE",
    "Tightened",
    "evaluation_violations",
    "meets",
    "policy_violations",
    "tighten",
]

#: Two epsilons closer than this are the same epsilon (as in the gate's results reader).
EPSILON_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Tightened:
    """The effective policy and one note per threshold the floor changed.

    Args:
        policy: The run's policy with every threshold at least as strict as the floor.
        notes: One line per change, e.g. ``min_robust_accuracy 0 raised to the floor 0.5 ...``.

    """

    policy: Policy
    notes: tuple[str, ...]


def tighten(run: Policy, floor: PolicyFloor, *, input_range: tuple[float, float]) -> Tightened:
    """Return the run policy raised to ``floor``; it never loosens a run threshold.

    Args:
        run: The thresholds from the run's parameters.
        floor: The environment's policy floor.
        input_range: The data's ``(lower, upper)``; the floor's epsilon is a fraction of its width.

    """
    width = _width(input_range)
    notes: list[str] = []

    def raise_to(field: str, value: float, minimum: float, unit: str = "") -> float:
        if value >= minimum:
            return value
        notes.append(f"{field} {value:g} raised to the floor {minimum:g}{unit} ({floor.label})")
        return minimum

    clean = raise_to("min_clean_accuracy", run.min_clean_accuracy, floor.min_clean_accuracy)
    robust = raise_to("min_robust_accuracy", run.min_robust_accuracy, floor.min_robust_accuracy)
    epsilon = raise_to(
        "robust_epsilon",
        run.robust_epsilon,
        floor.min_robust_epsilon * width,
        f" ({floor.min_robust_epsilon:g} of the input range width {width:g})",
    )
    attack = run.robust_attack
    if attack not in floor.robust_attacks:
        attack = c.WORST_CASE
        notes.append(
            f"robust_attack '{run.robust_attack}' replaced by '{c.WORST_CASE}' ({floor.label} "
            f"allows {_listing(floor.robust_attacks)})"
        )
    waived = tuple(f for f in run.allow_masking_flags if f in floor.waivable_masking_flags)
    dropped = [f for f in run.allow_masking_flags if f not in waived]
    if dropped:
        notes.append(
            f"allow_masking_flags {_listing(dropped)} dropped: they block ({floor.label} lets a "
            f"run waive {_listing(floor.waivable_masking_flags)})"
        )
    policy = Policy(
        min_clean_accuracy=clean,
        min_robust_accuracy=robust,
        robust_attack=attack,
        robust_epsilon=epsilon,
        allow_masking_flags=waived,
    )
    return Tightened(policy=policy, notes=tuple(notes))


def evaluation_violations(
    floor: PolicyFloor,
    *,
    tier: str,
    attack_params: Mapping[str, Mapping[str, Any]],
    n_samples: int,
    epsilons: Sequence[float],
    robust_epsilon: float,
    robust_attack: str,
) -> tuple[str, ...]:
    """Return one line per way the robustness evaluation falls short of ``floor`` (empty = none).

    Args:
        floor: The environment's policy floor.
        tier: The evaluation tier that ran.
        attack_params: The attacks that ran, each with its recorded hyper-parameters.
        n_samples: The number of test points evaluated.
        epsilons: The epsilons evaluated.
        robust_epsilon: The effective policy's epsilon (must be among ``epsilons``).
        robust_attack: The effective policy's attack (``worst_case`` or an attack that ran).

    """
    out: list[str] = []
    if not isinstance(tier, str) or tier not in c.TIERS:
        out.append(
            f"tier {tier!r} is unknown; the floor {floor.min_tier!r} ({floor.label}) needs one of "
            f"{_listing(c.TIERS)}: run attack_test with tier={floor.min_tier}"
        )
    elif c.TIERS.index(tier) < c.TIERS.index(floor.min_tier):
        out.append(
            f"tier {tier!r} is below the floor {floor.min_tier!r} ({floor.label}); run "
            f"attack_test with tier={floor.min_tier}"
        )
    for attack in _ordered(attack_params):
        params = attack_params[attack]
        for param, minimum in floor.min_attack_budget.get(attack, {}).items():
            value = params.get(param) if isinstance(params, Mapping) else None
            if not _at_least(value, minimum):
                shown = "not recorded" if value is None else repr(value)
                out.append(
                    f"attack {attack!r} {param}={shown} is below the floor {minimum} "
                    f"({floor.label}); run it with {param} >= {minimum}"
                )
    if not _is_int(n_samples) or n_samples < floor.min_samples:
        out.append(
            f"n_samples={n_samples!r} is below the floor {floor.min_samples} ({floor.label}); "
            f"evaluate at least {floor.min_samples} test points"
        )
    evaluated = [e for e in epsilons if is_number(e)]
    if not is_number(robust_epsilon) or not any(
        math.isclose(e, robust_epsilon, rel_tol=0.0, abs_tol=EPSILON_TOLERANCE) for e in evaluated
    ):
        have = ", ".join(f"{e:g}" for e in evaluated) or "none"
        out.append(
            f"robust_epsilon={robust_epsilon!r} was not evaluated (epsilons: {have}; "
            f"{floor.label}); add it to the attack epsilons"
        )
    if robust_attack not in floor.robust_attacks:
        out.append(
            f"robust_attack={robust_attack!r} is not allowed by the floor ({floor.label} allows "
            f"{_listing(floor.robust_attacks)}); gate on one of those"
        )
    if robust_attack != c.WORST_CASE and robust_attack not in attack_params:
        out.append(
            f"robust_attack={robust_attack!r} was not run (ran: {_listing(_ordered(attack_params))}"
            f"; {floor.label}); run it or gate on {c.WORST_CASE}"
        )
    return tuple(out)


def policy_violations(
    policy: Policy, floor: PolicyFloor, *, input_range: tuple[float, float]
) -> tuple[str, ...]:
    """Return one line per threshold of an effective ``policy`` looser than ``floor`` (or none).

    Args:
        policy: An already-effective policy, e.g. the one a signed approval carries.
        floor: The floor to re-apply (deploy's or the serving namespace's own).
        input_range: The data's ``(lower, upper)``; the floor's epsilon is a fraction of its width.

    """
    width = _width(input_range)
    fix = "gate the model again under this floor"
    out: list[str] = []
    for field in ("min_clean_accuracy", "min_robust_accuracy"):
        value, minimum = getattr(policy, field), getattr(floor, field)
        if value < minimum:
            out.append(f"{field} {value:g} is below the floor {minimum:g} ({floor.label}); {fix}")
    minimum_epsilon = floor.min_robust_epsilon * width
    if policy.robust_epsilon < minimum_epsilon - EPSILON_TOLERANCE:
        out.append(
            f"robust_epsilon {policy.robust_epsilon:g} is below the floor {minimum_epsilon:g} "
            f"({floor.min_robust_epsilon:g} of the input range width {width:g}; {floor.label}); "
            f"{fix}"
        )
    if policy.robust_attack not in floor.robust_attacks:
        out.append(
            f"robust_attack {policy.robust_attack!r} is not allowed by the floor ({floor.label} "
            f"allows {_listing(floor.robust_attacks)}); {fix}"
        )
    waived = [f for f in policy.allow_masking_flags if f not in floor.waivable_masking_flags]
    if waived:
        out.append(
            f"allow_masking_flags {_listing(waived)} may not be waived ({floor.label} allows "
            f"{_listing(floor.waivable_masking_flags)}); {fix}"
        )
    return tuple(out)


def meets(
    policy: Policy,
    *,
    clean_accuracy: float,
    robust_accuracy: float,
    raised_flags: Collection[str],
) -> tuple[str, ...]:
    """Return the checks ``policy`` fails on these numbers (empty = it meets the policy).

    Args:
        policy: The policy to apply (e.g. the approved one).
        clean_accuracy: Accuracy on clean test points, in [0, 1].
        robust_accuracy: Robust accuracy for ``policy.robust_attack`` at its epsilon, in [0, 1].
        raised_flags: Ids of the gradient-masking flags raised; each must be waived by the policy.

    Raises InvalidInputError when an accuracy is not a number in [0, 1] or the flags are not a
    collection of strings (unusable numbers never pass).

    """
    for name, value in (("clean_accuracy", clean_accuracy), ("robust_accuracy", robust_accuracy)):
        if not is_number(value) or not 0.0 <= value <= 1.0:
            raise InvalidInputError(
                f"{name}={value!r} must be a number in [0, 1]; pass the attested value"
            )
    if isinstance(raised_flags, (str, bytes)) or not all(isinstance(f, str) for f in raised_flags):
        raise InvalidInputError(
            f"raised_flags={raised_flags!r} must be a collection of masking flag ids"
        )
    out: list[str] = []
    if clean_accuracy < policy.min_clean_accuracy:
        out.append(
            f"clean_accuracy {clean_accuracy:g} is below min_clean_accuracy "
            f"{policy.min_clean_accuracy:g}"
        )
    if robust_accuracy < policy.min_robust_accuracy:
        out.append(
            f"robust_accuracy {robust_accuracy:g} ({policy.robust_attack} at epsilon "
            f"{policy.robust_epsilon:g}) is below min_robust_accuracy "
            f"{policy.min_robust_accuracy:g}"
        )
    known = [f for f in c.MASKING_FLAGS if f in raised_flags]
    unknown = sorted(set(raised_flags) - set(c.MASKING_FLAGS))
    for flag in (*known, *unknown):
        if flag not in policy.allow_masking_flags:
            out.append(
                f"masking flag {flag!r} is raised and not waived (allow_masking_flags: "
                f"{_listing(policy.allow_masking_flags)})"
            )
    return tuple(out)


def _width(input_range: tuple[float, float]) -> float:
    """Return ``upper - lower``; InvalidInputError unless both are finite and lower < upper."""
    ok = (
        isinstance(input_range, Sequence)
        and not isinstance(input_range, (str, bytes))
        and len(input_range) == 2
        and all(is_number(v) for v in input_range)
        and input_range[0] < input_range[1]
    )
    if not ok:
        raise InvalidInputError(
            f"input_range={input_range!r} must be (lower, upper) with finite lower < upper; "
            "pass the data's range, e.g. (0.0, 1.0)"
        )
    width = float(input_range[1]) - float(input_range[0])
    if not math.isfinite(width):
        raise InvalidInputError(f"input_range={input_range!r} is too wide; rescale the data")
    return width


def _ordered(names: Collection[str]) -> list[str]:
    """Return ``names`` with known attacks first in ``ATTACK_NAMES`` order, then the rest."""
    return [a for a in c.ATTACK_NAMES if a in names] + sorted(
        (a for a in names if a not in c.ATTACK_NAMES), key=str
    )


def _at_least(value: object, minimum: float) -> bool:
    """Return True when ``value`` is a finite number (not a bool) >= ``minimum``."""
    return is_number(value) and float(value) >= minimum  # type: ignore[arg-type]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _listing(names: Collection[str]) -> str:
    """Return ``'a', 'b'`` or ``none``."""
    return ", ".join(repr(n) for n in names) or "none"
