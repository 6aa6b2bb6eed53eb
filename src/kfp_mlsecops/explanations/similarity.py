"""How alike two sets of saliency maps are: per-sample Spearman rank correlation (numpy, scipy).

Adebayo et al. (2018) compare the maps of a trained model with those of the same model after
its weights were randomized; rank correlations of the absolute maps are the measure that needs
no image structure (no SSIM), so it fits images and tabular rows alike. Each sample's two maps
are flattened and ranked; ``similarity`` is the mean absolute Spearman correlation over the
samples (what the sanity check thresholds: a strong negative correlation would be as much
dependence as a positive one), ``rank_correlation`` the mean signed one. A randomized map that
is constant (e.g. every ReLU dead) holds no ranking and counts as correlation 0; a sample whose
original map is constant cannot be compared and is left out.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from kfp_mlsecops.errors import InvalidInputError

__all__ = ["MapSimilarity", "map_similarity"]


@dataclass(frozen=True)
class MapSimilarity:
    """How alike two sets of maps are.

    Args:
        similarity: mean absolute per-sample Spearman correlation of the absolute maps, in [0, 1].
        rank_correlation: the mean signed per-sample correlation, in [-1, 1].
        n_compared: samples compared (those whose original map is not constant).

    """

    similarity: float
    rank_correlation: float
    n_compared: int


def map_similarity(original: np.ndarray, randomized: np.ndarray) -> MapSimilarity:
    """Return how alike ``original`` and ``randomized`` maps are, sample by sample.

    Args:
        original: (N, ...) maps of the trained model.
        randomized: (N, ...) maps of the same samples after randomization (same shape).

    Raises InvalidInputError for mismatched shapes, NaN or when every original map is constant.

    """
    from scipy.stats import spearmanr

    a = np.abs(np.asarray(original, dtype=np.float64))
    b = np.abs(np.asarray(randomized, dtype=np.float64))
    if a.shape != b.shape or a.size == 0 or a.ndim < 2:
        raise InvalidInputError(
            f"saliency maps {a.shape} and {b.shape}: need the same non-empty (N, ...) shape"
        )
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InvalidInputError("the saliency maps hold NaN or infinity; check the model")
    correlations = []
    for row_a, row_b in zip(a, b, strict=True):
        if np.ptp(row_a) == 0.0:
            continue
        if np.ptp(row_b) == 0.0:
            correlations.append(0.0)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            correlations.append(float(spearmanr(row_a, row_b).statistic))
    if not correlations:
        raise InvalidInputError(
            "every saliency map of the trained model is constant: the model's scores do not "
            "depend on its inputs here; check the model and the samples"
        )
    values = np.asarray(correlations)
    return MapSimilarity(
        similarity=float(np.mean(np.abs(values))),
        rank_correlation=float(np.mean(values)),
        n_compared=len(values),
    )
