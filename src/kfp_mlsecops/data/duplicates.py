"""Duplicate checks: identical inputs with different labels (error) or the same label (warning).

Rows are compared as they will be stored in the splits (float32, with -0.0 folded into 0.0): each
row's bytes are hashed with SHA-256 once, so both checks run in O(N).
"""

from __future__ import annotations

import hashlib

import numpy as np

from kfp_mlsecops.data.findings import ERROR, WARNING, Finding

__all__ = ["check_conflicting_duplicates", "check_exact_duplicates", "row_group_ids"]


def row_group_ids(x: np.ndarray) -> np.ndarray:
    """Return, for each sample, the index of the first sample with identical float32 content."""
    n = int(x.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        rows = np.ascontiguousarray(x.reshape(n, -1), dtype=np.float32) + np.float32(0.0)
    first_seen: dict[bytes, int] = {}
    ids = np.empty(n, dtype=np.int64)
    for i in range(n):
        ids[i] = first_seen.setdefault(hashlib.sha256(rows[i].tobytes()).digest(), i)
    return ids


def check_conflicting_duplicates(
    x: np.ndarray, y: np.ndarray, *, group_ids: np.ndarray | None = None
) -> Finding:
    """``conflicting_duplicates``: no identical inputs carry different labels.

    Needs ``shapes_match``, ``numeric_features`` and ``integer_labels``. ``measured`` is the number
    of samples in groups of identical inputs whose labels disagree.
    """
    ids = row_group_ids(x) if group_ids is None else group_ids
    labels = y.tolist()
    first_label: dict[int, object] = {}
    conflicted: dict[int, int] = {}  # group -> first sample whose label differs
    for i, (group, label) in enumerate(zip(ids.tolist(), labels, strict=True)):
        if first_label.setdefault(group, label) != label:
            conflicted.setdefault(group, i)
    if not conflicted:
        return Finding("conflicting_duplicates", ERROR, True, "no conflicting duplicates", 0)
    rows = int(np.isin(ids, np.fromiter(conflicted, dtype=np.int64)).sum())
    group, other = next(iter(conflicted.items()))
    message = (
        f"{rows} samples in {len(conflicted)} groups of identical inputs have different labels "
        f"(e.g. samples {group} and {other}: labels {labels[group]} vs {labels[other]}); "
        "fix or drop the mislabelled samples"
    )
    return Finding("conflicting_duplicates", ERROR, False, message, rows)


def check_exact_duplicates(
    x: np.ndarray, y: np.ndarray, *, group_ids: np.ndarray | None = None
) -> Finding:
    """``exact_duplicates`` (warning): no sample repeats an earlier one (same input and label).

    Needs the same as :func:`check_conflicting_duplicates`. ``measured`` counts the repeats.
    """
    ids = row_group_ids(x) if group_ids is None else group_ids
    seen: set[tuple[int, object]] = set()
    repeats = 0
    first_repeat = -1
    for i, pair in enumerate(zip(ids.tolist(), y.tolist(), strict=True)):
        if pair in seen:
            repeats += 1
            first_repeat = i if first_repeat < 0 else first_repeat
        else:
            seen.add(pair)
    if repeats == 0:
        return Finding("exact_duplicates", WARNING, True, "no exact duplicates", 0)
    message = (
        f"{repeats} samples repeat an earlier sample exactly (first: sample {first_repeat}); "
        "duplicates can leak between train and test, consider deduplicating"
    )
    return Finding("exact_duplicates", WARNING, False, message, repeats)
