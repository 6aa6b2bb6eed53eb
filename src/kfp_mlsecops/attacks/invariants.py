"""Runtime invariants of a robustness evaluation; each returns None or raises AttackError."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kfp_mlsecops.errors import AttackError

__all__ = [
    "BALL_TOLERANCE",
    "INVARIANTS",
    "L2_BALL",
    "LINF_TOLERANCE",
    "check_eps_zero",
    "check_monotone",
    "check_perturbation",
]

#: Slack for float32 rounding in ``x + delta``; a real violation is orders of magnitude larger.
BALL_TOLERANCE = 1e-6
LINF_TOLERANCE = BALL_TOLERANCE

#: Name -> what was checked; names match ``constants.ROBUSTNESS_INVARIANTS``.
INVARIANTS: dict[str, str] = {
    "linf_ball": (
        f"every adversarial x' of an L-inf attack satisfies max|x' - x| <= epsilon + "
        f"{BALL_TOLERANCE:g}"
    ),
    "input_range": "every adversarial lies within the split's valid range [lower, upper]",
    "eps_zero_equals_clean": "at epsilon 0 every attack reproduces the clean predictions exactly",
    "worst_case_monotone": "worst-case robust accuracy is non-increasing in epsilon",
}
#: Listed in addition to INVARIANTS when an L2 attack ran.
L2_BALL = (
    "l2_ball",
    f"every adversarial x' of an L2 attack satisfies ||x' - x||_2 <= epsilon + {BALL_TOLERANCE:g}",
)
_NORM_NAMES = {"linf": "L-inf", "l2": "L2"}


def check_perturbation(
    clean: np.ndarray,
    adversarial: np.ndarray,
    *,
    epsilon: float | np.ndarray,
    lower: float,
    upper: float,
    attack: str = "attack",
    norm: str = "linf",
) -> None:
    """Raise AttackError unless every adversarial is finite, in range and inside the norm ball.

    ``norm`` is ``linf`` or ``l2``; ``epsilon`` is one budget or one per sample.
    """
    if norm not in _NORM_NAMES:
        raise AttackError(f"attack '{attack}': unknown norm {norm!r}; use linf or l2")
    if clean.shape != adversarial.shape:
        raise AttackError(
            f"attack '{attack}': adversarials shaped {adversarial.shape} for inputs {clean.shape}; "
            "the attack is broken"
        )
    if not np.isfinite(adversarial).all():
        raise AttackError(
            f"attack '{attack}' at epsilon {np.max(epsilon):g}: non-finite adversarials; "
            "the attack is broken"
        )
    if clean.size == 0:
        return
    budgets = np.broadcast_to(np.asarray(epsilon, dtype=np.float64), (len(clean),))
    shown = float(np.max(budgets))
    flat_clean = clean.reshape(len(clean), -1).astype(np.float64)
    flat_adv = adversarial.reshape(len(adversarial), -1).astype(np.float64)
    delta = flat_adv - flat_clean
    if norm == "l2":
        norms = np.sqrt(np.square(delta).sum(axis=1))
    else:
        norms = np.abs(delta).max(axis=1)
    bad = int(np.count_nonzero(norms > budgets + BALL_TOLERANCE))
    if bad:
        raise AttackError(
            f"attack '{attack}' at epsilon {shown:g}: {bad} adversarials leave the "
            f"{_NORM_NAMES[norm]} ball (max ||delta|| {norms.max():.6g}); results are invalid, "
            "fix the attack's projection"
        )
    low, high = flat_adv.min(), flat_adv.max()
    if low < lower - BALL_TOLERANCE or high > upper + BALL_TOLERANCE:
        raise AttackError(
            f"attack '{attack}' at epsilon {shown:g}: adversarials span [{low:.6g}, {high:.6g}] "
            f"outside the valid range [{lower:g}, {upper:g}]; fix the attack's clipping"
        )


def check_eps_zero(clean_correct: np.ndarray, eps_zero_correct: np.ndarray, *, attack: str) -> None:
    """Raise AttackError unless the attack at epsilon 0 leaves every prediction as it was."""
    differ = int(np.count_nonzero(np.asarray(clean_correct) != np.asarray(eps_zero_correct)))
    if differ:
        raise AttackError(
            f"attack '{attack}': at epsilon 0 robust accuracy {np.mean(eps_zero_correct):.6g} "
            f"!= clean accuracy {np.mean(clean_correct):.6g} ({differ} samples differ); "
            "the model or attack is non-deterministic, do not trust these results"
        )


def check_monotone(epsilons: Sequence[float], accuracies: Sequence[float], *, what: str) -> None:
    """Raise AttackError unless ``accuracies`` never increase as ``epsilons`` (ascending) grow."""
    if list(epsilons) != sorted(epsilons):
        raise AttackError(f"{what}: epsilons {list(epsilons)} are not ascending; internal error")
    for i in range(1, len(accuracies)):
        if accuracies[i] > accuracies[i - 1]:
            raise AttackError(
                f"{what}: robust accuracy rises from {accuracies[i - 1]:.6g} at epsilon "
                f"{epsilons[i - 1]:g} to {accuracies[i]:.6g} at {epsilons[i]:g}; "
                "results are invalid"
            )
