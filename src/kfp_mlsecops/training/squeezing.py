"""Feature squeezing (Xu, Evans and Qi, NDSS 2018) as a runtime signal of adversarial inputs.

Each input is also predicted after "squeezing": bit-depth reduction (values snapped to
``2**bits`` levels of the model's input range) and, optionally for images, a 2x2 median filter.
The score of an instance is the largest L1 distance between the probability vector of the input
and that of a squeezed version (0..2). Small, carefully placed perturbations often do not
survive squeezing, so their predictions move; natural inputs mostly do not. **This is a signal,
not a guarantee**: adaptive attacks that account for the squeezers evade it, and the threshold
trades false alarms against misses. Calibrate it on clean held-out data with
:func:`calibrate_squeezing` (threshold = the clean score quantile at the accepted false-positive
rate) and store the result under ``squeezing`` in ``reference_stats.json``; ``train_model``
does both on the held-out split. The verified predictor (``kfp_mlsecops.serving``) scores
requests with the same :class:`FeatureSqueezer`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "DEFAULT_BITS",
    "DEFAULT_THRESHOLD",
    "MIN_CALIBRATION_SAMPLES",
    "FeatureSqueezer",
    "calibrate_squeezing",
]

#: Bit depth of the default squeezer; 3 bits kept clean 8x8 digits' scores low (p95 ~ 0.1) while
#: FGSM at eps=0.1 moved the median score above it.
DEFAULT_BITS = 3
#: Threshold used when no calibrated one is given: about the 95th percentile of clean 8x8 digits
#: scores at 3 bits; calibrate for your model.
DEFAULT_THRESHOLD = 0.1
#: Median window supported besides 0 (off).
MEDIAN_WINDOW = 2
#: Fewest clean instances :func:`calibrate_squeezing` accepts.
MIN_CALIBRATION_SAMPLES = 10

Predict = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class FeatureSqueezer:
    """Squeezers for inputs in ``[lower, upper]`` and the threshold that flags an instance."""

    lower: float
    upper: float
    bits: int = DEFAULT_BITS
    median_window: int = 0
    threshold: float = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        """Validate the settings (InvalidInputError naming the bad one)."""
        if not (np.isfinite(self.lower) and np.isfinite(self.upper) and self.lower < self.upper):
            raise InvalidInputError(
                f"squeezing input range [{self.lower}, {self.upper}]: need finite lower < upper"
            )
        if (
            isinstance(self.bits, bool)
            or not isinstance(self.bits, int)
            or not 1 <= self.bits <= 16
        ):
            raise InvalidInputError(f"squeezing bits={self.bits!r}: must be an integer in 1..16")
        if self.median_window not in (0, MEDIAN_WINDOW):
            raise InvalidInputError(
                f"squeezing median_window={self.median_window!r}: must be 0 (off) or "
                f"{MEDIAN_WINDOW}"
            )
        if isinstance(self.threshold, bool) or not 0.0 < float(self.threshold) <= 2.0:
            raise InvalidInputError(
                f"squeezing threshold={self.threshold!r}: must lie in (0, 2] (an L1 distance "
                "between probability vectors)"
            )

    @classmethod
    def from_settings(
        cls, settings: dict[str, Any], *, lower: float, upper: float, where: str
    ) -> FeatureSqueezer:
        """Build from a ``squeezing`` object (as written by :func:`calibrate_squeezing`)."""
        try:
            return cls(
                lower=lower,
                upper=upper,
                bits=settings["bits"],
                median_window=settings["median_window"],
                threshold=float(settings["threshold"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidInputError(
                f"{where}: 'squeezing' needs bits, median_window and threshold ({e}); "
                "recalibrate with calibrate_squeezing"
            ) from e

    @property
    def n_squeezers(self) -> int:
        """How many squeezed copies :meth:`squeeze` returns per input."""
        return 1 + (1 if self.median_window else 0)

    def squeeze(self, x: np.ndarray) -> list[np.ndarray]:
        """Return the squeezed versions of the batch ``x`` (same shape and dtype)."""
        n = len(x)
        out = self.copies(x)
        return [out[n * i : n * (i + 1)] for i in range(self.n_squeezers)]

    def stack(self, x: np.ndarray) -> np.ndarray:
        """Return ``x`` followed by its squeezed versions, squeezer after squeezer.

        One allocation: the squeezers write straight into it, so a single model call on the
        result predicts the inputs and their squeezed copies together (see :meth:`distances`).
        """
        self._check(x)
        n = len(x)
        out = np.empty((n * (1 + self.n_squeezers), *x.shape[1:]), dtype=x.dtype)
        out[:n] = x
        self._squeeze_into(x, out[n:])
        return out

    def copies(self, x: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Return the squeezed versions of ``x[rows]`` (all rows by default), in one array."""
        self._check(x)
        picked = x if rows is None else x[rows]
        out = np.empty((len(picked) * self.n_squeezers, *x.shape[1:]), dtype=x.dtype)
        self._squeeze_into(picked, out)
        return out

    def _check(self, x: np.ndarray) -> None:
        if self.median_window and x.ndim != 4:
            raise InvalidInputError(
                f"median squeezing needs image batches (N, H, W, C), got shape {x.shape}"
            )

    def _squeeze_into(self, picked: np.ndarray, out: np.ndarray) -> None:
        """Write the squeezed copies of ``picked`` into ``out``, squeezer after squeezer."""
        k = len(picked)
        self._reduce_bits_into(picked, out[:k])
        if self.median_window:
            out[k:] = _median_2x2(picked)

    def scores(self, predict: Predict, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(probabilities of x, squeeze score per instance)`` with one model call."""
        n = len(x)
        out = np.asarray(predict(self.stack(x)))
        return out[:n], self.distances(out[:n], out[n:])

    def distances(self, reference: np.ndarray, squeezed: np.ndarray) -> np.ndarray:
        """Max over squeezers of the L1 distance to ``reference`` (squeezers stacked in order)."""
        k = len(reference)
        score = np.abs(reference - squeezed[:k]).sum(axis=1, dtype=np.float64)
        for i in range(1, self.n_squeezers):
            other = np.abs(reference - squeezed[i * k : (i + 1) * k]).sum(axis=1)
            np.maximum(score, other, out=score)
        return score

    def _reduce_bits_into(self, x: np.ndarray, out: np.ndarray) -> None:
        """Snap ``x`` to ``2**bits`` levels of [lower, upper], written into ``out`` in place.

        Computes ``rint(clip((x - lower) / span, 0, 1) * levels) / levels * span + lower`` in the
        dtype of ``x``; on the usual [0, 1] range the shift and the scaling by 1 are skipped,
        which changes no bit. Positional ``out``, ``rint`` and maximum/minimum keep the per-call
        cost low (``np.round`` with 0 decimals is ``rint``; ``np.clip`` costs several ufuncs).
        """
        levels = float(2**self.bits - 1)
        span = self.upper - self.lower
        unit_range = self.lower == 0.0 and span == 1.0
        if unit_range:
            np.maximum(x, 0.0, out)
        else:
            np.subtract(x, self.lower, out)
            np.divide(out, span, out)
            np.maximum(out, 0.0, out)
        np.minimum(out, 1.0, out)
        np.multiply(out, levels, out)
        np.rint(out, out)
        np.divide(out, levels, out)
        if not unit_range:
            np.multiply(out, span, out)
            np.add(out, self.lower, out)


def _median_2x2(x: np.ndarray) -> np.ndarray:
    """2x2 median filter per channel (edge-padded bottom/right), as in Xu et al."""
    padded = np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)), mode="edge")
    stacked = np.stack(
        [padded[:, :-1, :-1], padded[:, 1:, :-1], padded[:, :-1, 1:], padded[:, 1:, 1:]]
    )
    return np.median(stacked, axis=0).astype(x.dtype)


def calibrate_squeezing(
    predict: Predict,
    x: np.ndarray,
    *,
    lower: float,
    upper: float,
    bits: int = DEFAULT_BITS,
    median_window: int = 0,
    false_positive_rate: float = 0.05,
) -> dict[str, Any]:
    """Pick the threshold flagging ``false_positive_rate`` of the clean inputs ``x``.

    ``predict`` maps a batch to probability vectors. Returns the ``squeezing`` object for
    ``reference_stats.json`` (bits, median_window, threshold, false_positive_rate, n).
    """
    if not 0.0 < false_positive_rate < 1.0:
        raise InvalidInputError(
            f"false_positive_rate={false_positive_rate!r}: must lie strictly between 0 and 1"
        )
    clean = np.asarray(x, dtype=np.float32)
    if clean.ndim < 2 or len(clean) < MIN_CALIBRATION_SAMPLES:
        raise InvalidInputError(
            f"calibration inputs shaped {clean.shape}: need at least {MIN_CALIBRATION_SAMPLES} "
            "instances"
        )
    probe = FeatureSqueezer(lower=lower, upper=upper, bits=bits, median_window=median_window)
    _, scores = probe.scores(predict, clean)
    threshold = float(np.quantile(scores, 1.0 - false_positive_rate))
    # A model whose clean predictions never move would give 0; keep the threshold usable.
    threshold = min(max(threshold, 1e-6), 2.0)
    return {
        "bits": bits,
        "median_window": median_window,
        "threshold": threshold,
        "false_positive_rate": false_positive_rate,
        "n": int(len(clean)),
    }
