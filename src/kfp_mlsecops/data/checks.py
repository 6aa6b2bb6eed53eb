"""Small data checks, one function per check, each returning a :class:`Finding`.

Each function states in its docstring what it needs to hold already (see
:mod:`kfp_mlsecops.data.check_plan`, which runs them in order and skips the ones whose
prerequisites failed). Messages are one line; failures say what to do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kfp_mlsecops.data.findings import ERROR, WARNING, Finding

__all__ = [
    "check_class_balance",
    "check_enough_samples",
    "check_finite",
    "check_integer_labels",
    "check_label_domain",
    "check_not_empty",
    "check_numeric_features",
    "check_shapes",
    "check_split_coverage",
    "check_value_range",
    "class_counts",
    "evaluation_only_finding",
    "resolve_n_classes",
]

_NUMERIC_KINDS = "biuf"


def _shape_text(x: np.ndarray, y: np.ndarray) -> str:
    return f"x {tuple(x.shape)}, y {tuple(y.shape)}"


def check_shapes(x: np.ndarray, y: np.ndarray) -> Finding:
    """``shapes_match``: y is 1-D, x has a sample axis and features, and len(x) == len(y)."""
    problem = ""
    if y.ndim != 1:
        problem = f"y has shape {tuple(y.shape)}; labels must be 1-D (one integer per sample)"
    elif x.ndim < 2 or int(np.prod(x.shape[1:])) == 0:
        problem = f"x has shape {tuple(x.shape)}; each sample needs at least one feature"
    elif x.shape[0] != y.shape[0]:
        problem = (
            f"x has {x.shape[0]} samples but y has {y.shape[0]} labels; give one label per sample"
        )
    if problem:
        return Finding("shapes_match", ERROR, False, problem, _shape_text(x, y))
    return Finding("shapes_match", ERROR, True, "one label per sample", _shape_text(x, y))


def check_not_empty(x: np.ndarray) -> Finding:
    """``not_empty``: the dataset has at least one sample. Needs ``shapes_match``."""
    n = int(x.shape[0])
    if n == 0:
        return Finding("not_empty", ERROR, False, "dataset has no samples; provide data rows", 0)
    return Finding("not_empty", ERROR, True, f"{n} samples", n)


def _is_number(text: object) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True


def _where(index: int, x: np.ndarray, feature_names: Sequence[str] | None) -> str:
    """Describe flat element ``index`` of ``x`` as 'sample i' (plus the CSV column if known)."""
    per_sample = int(np.prod(x.shape[1:])) if x.ndim > 1 else 1
    sample, feature = divmod(index, per_sample)
    if feature_names is not None and x.ndim == 2 and feature < len(feature_names):
        return f"sample {sample}, column '{feature_names[feature]}'"
    return f"sample {sample}"


def check_numeric_features(x: np.ndarray, feature_names: Sequence[str] | None = None) -> Finding:
    """``numeric_features``: x holds numbers (bool, int or float), not text or records."""
    measured = str(x.dtype)
    if x.dtype.kind in _NUMERIC_KINDS:
        return Finding("numeric_features", ERROR, True, f"x dtype {x.dtype}", measured)
    if x.dtype.kind in "US":
        cells = x.reshape(-1).tolist()
        bad = [i for i, cell in enumerate(cells) if not _is_number(cell)]
        if bad:
            first = bad[0]
            message = (
                f"x has {len(bad)} non-numeric cells (first: {_where(first, x, feature_names)} "
                f"= {cells[first]!r}); make every feature column numeric"
            )
            return Finding("numeric_features", ERROR, False, message, measured)
    message = f"x has dtype {x.dtype}, not numeric; store features as int or float"
    return Finding("numeric_features", ERROR, False, message, measured)


def check_integer_labels(y: np.ndarray) -> Finding:
    """``integer_labels``: y is numeric and every label is a finite whole number."""
    measured = str(y.dtype)
    if y.dtype.kind not in _NUMERIC_KINDS:
        example = f" (e.g. {y.item(0)!r})" if y.size else ""
        message = f"y has dtype {y.dtype}{example}; map labels to integers 0..K-1"
        return Finding("integer_labels", ERROR, False, message, measured)
    if y.dtype.kind == "f":
        flat = y.reshape(-1)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(flat) | (flat != np.round(flat))
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            message = (
                f"y has {int(bad.sum())} labels that are not whole numbers (first: sample {first} "
                f"= {flat.item(first)!r}); labels must be integers 0..K-1"
            )
            return Finding("integer_labels", ERROR, False, message, measured)
    return Finding("integer_labels", ERROR, True, "labels are whole numbers", measured)


def check_finite(x: np.ndarray, feature_names: Sequence[str] | None = None) -> Finding:
    """``finite``: no NaN or inf in x. Needs ``numeric_features``."""
    if x.dtype.kind != "f":
        return Finding("finite", ERROR, True, "integer features are always finite", 0)
    bad = ~np.isfinite(x.reshape(-1))
    count = int(bad.sum())
    if count == 0:
        return Finding("finite", ERROR, True, "no NaN/inf values", 0)
    first = int(np.flatnonzero(bad)[0])
    message = (
        f"x has {count} non-finite values (NaN/inf) (first: {_where(first, x, feature_names)}); "
        "clean or drop those rows"
    )
    return Finding("finite", ERROR, False, message, count)


def check_value_range(x: np.ndarray, *, value_min: float, value_max: float) -> Finding:
    """``value_range``: every x value in [value_min, value_max]. Needs ``finite``, ``not_empty``."""
    low, high = float(np.min(x)), float(np.max(x))
    measured: list[float] = [low, high]
    outside = int(np.count_nonzero((x < value_min) | (x > value_max)))
    if outside:
        message = (
            f"x has {outside} values outside [{value_min:g}, {value_max:g}] (min {low:g}, "
            f"max {high:g}); rescale the features or set value_min/value_max"
        )
        return Finding("value_range", ERROR, False, message, measured)
    message = f"all values in [{value_min:g}, {value_max:g}]"
    return Finding("value_range", ERROR, True, message, measured)


def resolve_n_classes(y: np.ndarray, num_classes: int) -> int:
    """Return ``num_classes`` if positive, else max label + 1 (0 when ``y`` is empty)."""
    if num_classes > 0:
        return num_classes
    return int(np.max(y)) + 1 if y.size else 0


def check_label_domain(y: np.ndarray, *, num_classes: int) -> Finding:
    """``label_domain``: labels in 0..K-1 with 2 <= K <= len(y).

    ``num_classes`` = 0 infers K as max label + 1. Needs ``integer_labels`` and ``not_empty``.
    """
    low, high = float(np.min(y)), float(np.max(y))
    measured: list[float] = [low, high]
    n = int(y.shape[0])
    if low < 0:
        negative = int(np.count_nonzero(y < 0))
        message = f"y has {negative} negative labels (min {low:g}); labels must be integers 0..K-1"
        return Finding("label_domain", ERROR, False, message, measured)
    if num_classes > 0 and high >= num_classes:
        over = int(np.count_nonzero(y >= num_classes))
        message = (
            f"y has {over} labels >= num_classes={num_classes} (max {high:g}); "
            "relabel to 0..num_classes-1 or raise num_classes"
        )
        return Finding("label_domain", ERROR, False, message, measured)
    k = num_classes if num_classes > 0 else int(high) + 1
    if k > n:
        message = (
            f"labels imply {k} classes but there are only {n} samples; "
            "labels must be 0..K-1 with samples for every class"
        )
        return Finding("label_domain", ERROR, False, message, measured)
    if k < 2:
        message = "only one class (label 0); a classifier needs at least 2 classes"
        return Finding("label_domain", ERROR, False, message, measured)
    return Finding("label_domain", ERROR, True, f"labels in 0..{k - 1} ({k} classes)", measured)


def class_counts(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Return the number of samples per class 0..n_classes-1 (labels must be in range)."""
    return np.bincount(y.astype(np.int64), minlength=n_classes)


def check_enough_samples(x: np.ndarray, *, min_samples: int) -> Finding:
    """``enough_samples``: at least ``min_samples`` samples. Needs ``not_empty``."""
    n = int(x.shape[0])
    if n < min_samples:
        message = f"only {n} samples, fewer than min_samples={min_samples}; add data"
        return Finding("enough_samples", ERROR, False, message, n)
    return Finding("enough_samples", ERROR, True, f"{n} >= min_samples={min_samples}", n)


def check_class_balance(y: np.ndarray, *, n_classes: int, max_imbalance: float) -> Finding:
    """``class_balance`` (warning): largest/smallest present class <= max_imbalance.

    Needs ``label_domain``. Classes with no samples are left to ``split_coverage``.
    """
    counts = class_counts(y, n_classes)
    present = np.flatnonzero(counts)
    big = int(present[np.argmax(counts[present])])
    small = int(present[np.argmin(counts[present])])
    ratio = float(counts[big]) / float(counts[small])
    if ratio > max_imbalance:
        message = (
            f"class {small} has {counts[small]} samples and class {big} has {counts[big]} "
            f"(ratio {ratio:.3g} > max_imbalance {max_imbalance:g}); "
            "collect more samples of the small classes or resample"
        )
        return Finding("class_balance", WARNING, False, message, ratio)
    message = f"largest/smallest class ratio {ratio:.3g} <= {max_imbalance:g}"
    return Finding("class_balance", WARNING, True, message, ratio)


def check_split_coverage(
    y: np.ndarray, *, n_classes: int, train_index: np.ndarray, test_index: np.ndarray
) -> Finding:
    """``split_coverage``: every class 0..n_classes-1 has a sample in both train and test.

    Needs ``label_domain``; ``train_index``/``test_index`` come from
    :func:`kfp_mlsecops.data.splitting.stratified_split`.
    """
    train = class_counts(y[train_index], n_classes)
    test = class_counts(y[test_index], n_classes)
    lowest = int(min(train.min(), test.min()))
    missing = np.flatnonzero((train == 0) | (test == 0))
    if missing.size:
        c = int(missing[0])
        more = f" and {missing.size - 1} more classes" if missing.size > 1 else ""
        message = (
            f"class {c}{more} missing from a split (class {c}: {train[c]} train, {test[c]} test); "
            "each class needs >= 2 samples so both splits get one; add samples or relabel"
        )
        return Finding("split_coverage", ERROR, False, message, lowest)
    message = f"every class in both splits (fewest per class and split: {lowest})"
    return Finding("split_coverage", ERROR, True, message, lowest)


def evaluation_only_finding(n_samples: int) -> Finding:
    """``split_coverage`` in evaluation-only mode: no split is made, every sample is test data."""
    message = f"evaluation only: all {n_samples} samples are the test split (no train split)"
    return Finding("split_coverage", ERROR, True, message, n_samples)
