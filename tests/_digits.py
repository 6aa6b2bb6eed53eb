"""The digits splits the model-level suites share (attacks, training, safety)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from kfp_mlsecops.data.split_io import Split, save_split


def write_digits_splits(folder: Path) -> tuple[Path, Path]:
    """8x8 digits scaled to [0, 1], shaped (N, 8, 8, 1), split 80/20 with a fixed permutation."""
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32).reshape(-1, 8, 8, 1)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    cut = int(0.8 * len(y))
    train, test = order[:cut], order[cut:]
    train_path = save_split(folder / "train.npz", Split(x[train], y[train], 0.0, 1.0, 10))
    test_path = save_split(folder / "test.npz", Split(x[test], y[test], 0.0, 1.0, 10))
    return train_path, test_path
