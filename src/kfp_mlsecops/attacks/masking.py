"""Gradient-masking diagnostics (Athalye et al. 2018; Carlini et al. 2019), one flag each.

A flag is ``{"id", "flagged", "measured", "threshold", "detail"}`` with ids from
``constants.MASKING_FLAGS``. The functions here turn measured accuracies into flags; the extra
attack runs they need are made by :mod:`kfp_mlsecops.attacks.evaluate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from kfp_mlsecops.attacks._params import check_fraction
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "BLACKBOX",
    "DEGENERATE",
    "NO_CONVERGENCE",
    "SINGLE_STEP",
    "MaskingThresholds",
    "accuracy_gap_flag",
    "degenerate_gradient_fractions",
    "degenerate_flag",
    "degenerate_gradient_bits",
    "make_flag",
    "no_convergence_flag",
    "not_applicable",
]

BLACKBOX = "blackbox_beats_whitebox"
SINGLE_STEP = "single_step_beats_iterative"
NO_CONVERGENCE = "no_convergence_at_large_eps"
DEGENERATE = "degenerate_gradients"


@dataclass(frozen=True, kw_only=True)
class MaskingThresholds:
    """When each flag is raised (all fractions of the evaluated samples).

    - ``blackbox_margin``: Square's robust accuracy below the lowest white-box one by more than
      this at some epsilon (and by more than one sample and ``z`` standard errors).
    - ``single_step_margin``: the same for FGSM against the iterative white-box attacks.
    - ``z``: how many standard errors of the paired difference a gap must exceed, so a handful
      of samples an unconverged attack misses on a subset is not reported as masking.
    - ``large_epsilon_fraction`` / ``max_accuracy_at_large_epsilon``: at epsilon
      ``fraction * (upper - lower)`` (or the largest requested, if larger) the white-box robust
      accuracy must fall to at most this.
    - ``max_degenerate_fraction``: at most this fraction of samples may have an all-zero or
      non-finite input gradient.
    """

    blackbox_margin: float = 0.01
    single_step_margin: float = 0.01
    z: float = 3.0
    large_epsilon_fraction: float = 0.5
    max_accuracy_at_large_epsilon: float = 0.1
    max_degenerate_fraction: float = 0.5

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name == "z":
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise InvalidInputError(f"masking threshold z={value!r}: must be a number")
                if not 0 <= value <= 10:
                    raise InvalidInputError(f"masking threshold z={value!r}: must be in [0, 10]")
            else:
                check_fraction(f"masking threshold {name}", value, inclusive_zero=True)


def make_flag(
    flag_id: str, *, flagged: bool, measured: float | None, threshold: float, detail: str
) -> dict[str, Any]:
    """Return one flag object (numbers rounded to 6 digits for stable JSON)."""
    return {
        "id": flag_id,
        "flagged": bool(flagged),
        "measured": None if measured is None else round(float(measured), 6),
        "threshold": round(float(threshold), 6),
        "detail": detail,
    }


def not_applicable(flag_id: str, *, threshold: float, reason: str) -> dict[str, Any]:
    """Return an unflagged flag for a check this evaluation cannot make, saying why."""
    detail = f"not applicable: {reason}"
    return make_flag(flag_id, flagged=False, measured=None, threshold=threshold, detail=detail)


def accuracy_gap_flag(
    flag_id: str,
    *,
    probe: str,
    probe_survived: Mapping[float, np.ndarray],
    references: Mapping[str, Mapping[float, np.ndarray]],
    margin: float,
    z: float,
    scope: str = "",
) -> dict[str, Any]:
    """Flag when ``probe`` beats the strongest reference attack by more than chance allows.

    Inputs are per-sample survival (True = still classified right) per epsilon. At each epsilon
    both ran, the reference is the attack with the lowest robust accuracy and the gap is its
    accuracy minus the probe's. The gap must exceed ``max(margin, 1 sample, z standard errors of
    the paired difference)``; the standard error is ``sqrt(b + c) / n`` with ``b`` (``c``) the
    samples only the probe (only the reference) fooled. ``measured`` is the gap at the epsilon
    where it most exceeds its threshold.
    """
    rows: list[tuple[float, float, float, float, str]] = []
    for eps, probe_ok in probe_survived.items():
        candidates = [
            (float(acc[eps].mean()), name) for name, acc in references.items() if eps in acc
        ]
        if not candidates:
            continue
        ref_accuracy, name = min(candidates)
        ref_ok = references[name][eps]
        n = len(probe_ok)
        discordant = int(np.count_nonzero(probe_ok != ref_ok))
        threshold = max(margin, 1.0 / n, z * np.sqrt(discordant) / n)
        gap = ref_accuracy - float(probe_ok.mean())
        rows.append((gap - threshold, gap, threshold, eps, name))
    if not rows:
        return not_applicable(flag_id, threshold=margin, reason="no common epsilon")
    _, gap, threshold, eps, name = max(rows)
    flagged = gap > threshold
    verdict = "beats" if flagged else "does not beat"
    detail = (
        f"{probe} {verdict} the strongest of {', '.join(references)}: robust accuracy "
        f"{float(probe_survived[eps].mean()):.4f} vs {float(references[name][eps].mean()):.4f} "
        f"({name}) at epsilon {eps:g}{scope}; gap {gap:+.4f}, threshold {threshold:.4f} "
        f"(max of margin {margin:g}, one sample, {z:g} standard errors)"
    )
    return make_flag(flag_id, flagged=flagged, measured=gap, threshold=threshold, detail=detail)


def no_convergence_flag(
    *, attack: str, epsilon: float, accuracy: float, threshold: float
) -> dict[str, Any]:
    """Flag when the white-box robust accuracy at a large epsilon stays above ``threshold``."""
    flagged = accuracy > threshold
    detail = (
        f"{attack} at epsilon {epsilon:g} leaves robust accuracy {accuracy:.4f} "
        f"({'above' if flagged else 'at or below'} {threshold:g}); "
        + (
            "a sound attack drives it towards 0 at such a budget"
            if flagged
            else "the attack converges"
        )
    )
    return make_flag(
        NO_CONVERGENCE, flagged=flagged, measured=accuracy, threshold=threshold, detail=detail
    )


def degenerate_flag(
    *, margin_fraction: float, ce_fraction: float, threshold: float
) -> dict[str, Any]:
    """Flag when the fraction of samples with a zero or non-finite input gradient is too high."""
    flagged = margin_fraction > threshold
    detail = (
        f"{margin_fraction:.4f} of samples have an all-zero or non-finite input gradient of the "
        f"logit margin ({ce_fraction:.4f} for the cross-entropy); flagged above {threshold:g}"
    )
    return make_flag(
        DEGENERATE, flagged=flagged, measured=margin_fraction, threshold=threshold, detail=detail
    )


def degenerate_gradient_fractions(
    model: TFModel, x: np.ndarray, y: np.ndarray, *, batch_size: int
) -> tuple[float, float]:
    """Return the fractions of samples whose input gradient is all zero or non-finite.

    First for the logit margin ``z_y - max_{j != y} z_j`` (zero only when the scores do not depend
    on the input: masking), second for the cross-entropy (also zero when the softmax saturates).
    """
    if len(y) == 0:
        return 0.0, 0.0
    margin_bad, ce_bad = degenerate_gradient_bits(model, x, y, batch_size=batch_size)
    return float(margin_bad.mean()), float(ce_bad.mean())


def degenerate_gradient_bits(
    model: TFModel, x: np.ndarray, y: np.ndarray, *, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return per sample whether its input gradient is all zero or non-finite (margin, CE).

    The per-sample form of :func:`degenerate_gradient_fractions` (each sample's gradient is its
    own, so any subset gives the same bits).
    """
    import tensorflow as tf

    from kfp_mlsecops.attacks import _tf

    def build() -> Any:
        @tf.function(input_signature=[model.input_spec(), tf.TensorSpec([None], tf.int64)])
        def health(batch: Any, labels: Any) -> tuple[Any, Any]:
            out = []
            for loss in (
                lambda z: _tf.margin(z, labels),
                lambda z: _tf.cross_entropy(z, labels),
            ):
                _, value, grad = _tf.loss_and_gradient(model, batch, loss)
                flat = tf.reshape(grad, [tf.shape(grad)[0], -1])
                zero = tf.reduce_all(tf.equal(flat, 0.0), axis=1)
                broken = tf.logical_not(
                    tf.logical_and(
                        tf.reduce_all(tf.math.is_finite(flat), axis=1), tf.math.is_finite(value)
                    )
                )
                out.append(tf.logical_or(zero, broken))
            return out[0], out[1]

        return health

    health = model.compiled(("gradient_health",), build)
    margin_bad: list[np.ndarray] = [np.zeros(0, dtype=bool)]
    ce_bad: list[np.ndarray] = [np.zeros(0, dtype=bool)]
    for start in range(0, len(y), batch_size):
        a, b = health(
            tf.constant(x[start : start + batch_size], tf.float32),
            tf.constant(y[start : start + batch_size], tf.int64),
        )
        margin_bad.append(np.asarray(a.numpy(), dtype=bool))
        ce_bad.append(np.asarray(b.numpy(), dtype=bool))
    return np.concatenate(margin_bad), np.concatenate(ce_bad)
