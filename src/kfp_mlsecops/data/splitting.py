"""Seeded, stratified train/test split by class."""

from __future__ import annotations

import math
import numbers

import numpy as np

from kfp_mlsecops.errors import InvalidInputError

__all__ = ["check_seed", "check_test_fraction", "stratified_split"]


def check_test_fraction(test_fraction: float) -> float:
    """Return ``test_fraction`` as float; raise InvalidInputError unless it is in (0, 1)."""
    if (
        isinstance(test_fraction, bool)
        or not isinstance(test_fraction, numbers.Real)
        or not math.isfinite(float(test_fraction))
        or not 0.0 < float(test_fraction) < 1.0
    ):
        raise InvalidInputError(
            f"test_fraction {test_fraction!r}: must be a number strictly between 0 and 1 (e.g. 0.2)"
        )
    return float(test_fraction)


def check_seed(seed: int) -> int:
    """Return ``seed``; raise InvalidInputError unless it is a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InvalidInputError(f"seed {seed!r}: must be a non-negative integer (e.g. 0)")
    return int(seed)


def stratified_split(
    y: np.ndarray, *, n_classes: int, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(train_index, test_index)``: per class, about ``test_fraction`` of it goes to test.

    Each class with n >= 2 samples sends round(n * test_fraction), clamped to 1..n-1, samples to
    test, so it appears in both splits; a class with one sample stays in train only (and
    ``split_coverage`` reports it). The same ``y``, ``n_classes``, fraction and seed always give the
    same indices; both index arrays are shuffled so the splits are not ordered by class.
    """
    fraction = check_test_fraction(test_fraction)
    rng = np.random.default_rng(check_seed(seed))
    labels = np.asarray(y).astype(np.int64)
    train_parts: list[np.ndarray] = []
    test_parts: list[np.ndarray] = []
    for c in range(n_classes):
        members = rng.permutation(np.flatnonzero(labels == c))
        n = members.size
        n_test = min(max(int(math.floor(n * fraction + 0.5)), 1), n - 1) if n >= 2 else 0
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    train = np.concatenate(train_parts) if train_parts else np.zeros(0, dtype=np.int64)
    test = np.concatenate(test_parts) if test_parts else np.zeros(0, dtype=np.int64)
    return rng.permutation(train).astype(np.int64), rng.permutation(test).astype(np.int64)
