"""Reference statistics of the training inputs, saved in the model directory at training time.

Contract (``reference_stats.json``, schema ``constants.REFERENCE_STATS_SCHEMA``)::

    {"schema": "kfp-mlsecops/reference-stats/v1",
     "n": 1437,                      # training instances the statistics cover (>= 2)
     "feature_shape": [8, 8, 1],     # one instance's shape; features are flattened C-order
     "mean": [...], "std": [...],    # per feature, population std (ddof=0)
     "min": [...], "max": [...],
     "squeezing": {...}}             # optional, from calibrate_squeezing (.squeezing)

:func:`~kfp_mlsecops.training.train_model` writes it into the model directory before the model
is signed, so the signature covers it; the verified predictor (``kfp_mlsecops.serving``) loads
it to score input drift and to configure feature squeezing. It lives in ``training`` (the
producer of model directories) so that serving depends on training and never the reverse.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import finite_json, write_json_atomic
from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "ReferenceStats",
    "compute_reference_stats",
    "load_reference_stats",
    "write_reference_stats",
]

_FEATURE_KEYS = ("mean", "std", "min", "max")
#: Relative slack for min <= mean <= max after float rounding.
_ORDER_SLACK = 1e-6


@dataclass(frozen=True)
class ReferenceStats:
    """Validated per-feature statistics (flattened, float64)."""

    n: int
    feature_shape: tuple[int, ...]
    mean: np.ndarray
    std: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    squeezing: dict[str, Any] | None = None

    @property
    def n_features(self) -> int:
        """Number of flattened features per instance."""
        return int(self.mean.shape[0])


def compute_reference_stats(x: np.ndarray) -> dict[str, Any]:
    """Return the ``reference_stats.json`` document for the training inputs ``x`` (N, ...).

    Statistics are per flattened feature over the N instances, computed in float64. Raises
    InvalidInputError for fewer than 2 instances, non-numeric or non-finite values.
    """
    flat = _as_instances(x, what="reference inputs")
    return {
        C.SCHEMA: C.REFERENCE_STATS_SCHEMA,
        "n": int(flat.shape[0]),
        "feature_shape": [int(d) for d in np.shape(x)[1:]],
        "mean": flat.mean(axis=0).tolist(),
        "std": flat.std(axis=0).tolist(),
        "min": flat.min(axis=0).tolist(),
        "max": flat.max(axis=0).tolist(),
    }


def write_reference_stats(path: str | os.PathLike[str], stats: dict[str, Any]) -> Path:
    """Validate ``stats`` (as :func:`load_reference_stats` would) and write it atomically."""
    _parse(stats, where=f"reference stats for '{path}'")
    return write_json_atomic(path, stats)


def load_reference_stats(path: str | os.PathLike[str]) -> ReferenceStats:
    """Read and validate ``reference_stats.json``; InvalidInputError naming the file otherwise."""
    where = f"reference stats '{path}'"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise InvalidInputError(f"{where}: file not found; retrain to write it") from e
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"{where}: cannot be read ({type(e).__name__})") from e
    try:
        doc = finite_json(text)
    except ValueError as e:
        raise InvalidInputError(f"{where}: not valid JSON ({e}); retrain to rewrite it") from e
    return _parse(doc, where=where)


def _as_instances(x: Any, *, what: str) -> np.ndarray:
    array = np.asarray(x)
    if array.dtype.kind not in "iuf" or array.ndim < 2:
        raise InvalidInputError(
            f"{what}: need a numeric array shaped (N, ...), got dtype {array.dtype} with "
            f"shape {array.shape}"
        )
    if array.shape[0] < 2 or array[0].size == 0:
        raise InvalidInputError(f"{what}: need at least 2 non-empty instances, got {array.shape}")
    flat = array.reshape(array.shape[0], -1).astype(np.float64)
    if not np.isfinite(flat).all():
        raise InvalidInputError(f"{what}: contains NaN or infinite values; clean the data first")
    return flat


def _parse(doc: Any, *, where: str) -> ReferenceStats:
    if not isinstance(doc, dict) or doc.get(C.SCHEMA) != C.REFERENCE_STATS_SCHEMA:
        raise InvalidInputError(
            f"{where}: not a {C.REFERENCE_STATS_SCHEMA} document; write it with "
            "compute_reference_stats"
        )
    n = doc.get("n")
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise InvalidInputError(f"{where}: 'n' must be an integer >= 2, got {n!r}")
    shape = doc.get("feature_shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
    ):
        raise InvalidInputError(f"{where}: 'feature_shape' must be a list of positive integers")
    size = math.prod(shape)
    arrays = {}
    for key in _FEATURE_KEYS:
        values = doc.get(key)
        if (
            not isinstance(values, list)
            or len(values) != size
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        ):
            raise InvalidInputError(
                f"{where}: '{key}' must be a list of {size} numbers (one per feature)"
            )
        array = np.asarray(values, dtype=np.float64)
        if not np.isfinite(array).all():
            raise InvalidInputError(f"{where}: '{key}' has non-finite values")
        arrays[key] = array
    slack = _ORDER_SLACK * (1.0 + np.abs(arrays["mean"]))
    if (arrays["std"] < 0).any() or (arrays["min"] > arrays["max"]).any():
        raise InvalidInputError(f"{where}: negative std or min > max; rewrite the file")
    if (arrays["mean"] < arrays["min"] - slack).any() or (
        arrays["mean"] > arrays["max"] + slack
    ).any():
        raise InvalidInputError(f"{where}: a mean lies outside its [min, max]; rewrite the file")
    squeezing = doc.get("squeezing")
    if squeezing is not None and not isinstance(squeezing, dict):
        raise InvalidInputError(f"{where}: 'squeezing' must be an object when present")
    return ReferenceStats(
        n=n,
        feature_shape=tuple(shape),
        mean=arrays["mean"],
        std=arrays["std"],
        minimum=arrays["min"],
        maximum=arrays["max"],
        squeezing=squeezing,
    )
