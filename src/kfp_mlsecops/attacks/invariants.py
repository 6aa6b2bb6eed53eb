"""Runtime invariants of a robustness evaluation; each returns None or raises AttackError."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kfp_mlsecops.errors import AttackError

__all__ = [
    "INVARIANTS",
    "LINF_TOLERANCE",
    "check_eps_zero",
    "check_monotone",
    "check_perturbation",
]

#: Slack for float32 rounding in ``x + delta``; a real violation is orders of magnitude larger.
LINF_TOLERANCE = 1e-6

#: Name -> what was checked; names match ``constants.ROBUSTNESS_INVARIANTS``.
INVARIANTS: dict[str, str] = {
    "linf_ball": f"every adversarial x' satisfies max|x' - x| <= epsilon + {LINF_TOLERANCE:g}",
    "input_range": "every adversarial lies within the split's valid range [lower, upper]",
    "eps_zero_equals_clean": "at epsilon 0 every attack reproduces the clean predictions exactly",
    "worst_case_monotone": "worst-case robust accuracy is non-increasing in epsilon",
}


def check_perturbation(
    clean: np.ndarray,
    adversarial: np.ndarray,
    *,
    epsilon: float,
    lower: float,
    upper: float,
    attack: str = "attack",
) -> None:
    """Raise AttackError unless every adversarial is finite, in range and inside the L-inf ball."""
    if clean.shape != adversarial.shape:
        raise AttackError(
            f"attack '{attack}': adversarials shaped {adversarial.shape} for inputs {clean.shape}; "
            "the attack is broken"
        )
    if not np.isfinite(adversarial).all():
        raise AttackError(
            f"attack '{attack}' at epsilon {epsilon:g}: non-finite adversarials; "
            "the attack is broken"
        )
    if clean.size == 0:
        return
    flat_clean = clean.reshape(len(clean), -1).astype(np.float64)
    flat_adv = adversarial.reshape(len(adversarial), -1).astype(np.float64)
    norms = np.abs(flat_adv - flat_clean).max(axis=1)
    bad = int(np.count_nonzero(norms > epsilon + LINF_TOLERANCE))
    if bad:
        raise AttackError(
            f"attack '{attack}' at epsilon {epsilon:g}: {bad} adversarials leave the L-inf ball "
            f"(max |delta| {norms.max():.6g}); results are invalid, fix the attack's projection"
        )
    low, high = flat_adv.min(), flat_adv.max()
    if low < lower - LINF_TOLERANCE or high > upper + LINF_TOLERANCE:
        raise AttackError(
            f"attack '{attack}' at epsilon {epsilon:g}: adversarials span [{low:.6g}, {high:.6g}] "
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
