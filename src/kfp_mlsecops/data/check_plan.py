"""Run the data checks in dependency order; a check whose prerequisites failed is skipped.

Order and prerequisites (a check runs only when all its prerequisites passed):

==========================  ========  ================================================
check                       severity  needs
==========================  ========  ================================================
shapes_match                error     -
not_empty                   error     shapes_match
numeric_features            error     -
integer_labels              error     -
finite                      error     numeric_features
value_range                 error     not_empty, numeric_features, finite
label_domain                error     not_empty, integer_labels
enough_samples              error     not_empty
class_balance               warning   label_domain
conflicting_duplicates      error     shapes_match, numeric_features, integer_labels
exact_duplicates            warning   shapes_match, numeric_features, integer_labels
split_coverage              error     label_domain (run by validate, after splitting)
==========================  ========  ================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from kfp_mlsecops.data import checks, duplicates
from kfp_mlsecops.data.findings import ERROR, WARNING, Finding, Severity, skipped_finding
from kfp_mlsecops.data.sources import LabeledData

__all__ = ["CHECK_IDS", "blockers", "run_checks"]

#: Every check id, in the order findings appear in the report.
CHECK_IDS = (
    "shapes_match",
    "not_empty",
    "numeric_features",
    "integer_labels",
    "finite",
    "value_range",
    "label_domain",
    "enough_samples",
    "class_balance",
    "conflicting_duplicates",
    "exact_duplicates",
    "split_coverage",
)


def blockers(findings: Sequence[Finding], needs: Sequence[str]) -> list[str]:
    """Return the ids in ``needs`` that did not pass (a missing id counts as not passed)."""
    passed = {f.id for f in findings if f.passed}
    return [n for n in needs if n not in passed]


def run_checks(
    data: LabeledData,
    *,
    value_min: float,
    value_max: float,
    num_classes: int,
    min_samples: int,
    max_imbalance: float,
) -> list[Finding]:
    """Run every check except ``split_coverage`` on ``data``; never raises on bad data."""
    x, y, names = data.x, data.y, data.feature_names
    dup_ids: list[np.ndarray] = []

    def group_ids() -> np.ndarray:
        if not dup_ids:
            dup_ids.append(duplicates.row_group_ids(x))
        return dup_ids[0]

    def n_classes() -> int:
        return checks.resolve_n_classes(y, num_classes)

    dup_needs = ("shapes_match", "numeric_features", "integer_labels")
    plan: list[tuple[str, Severity, tuple[str, ...], Callable[[], Finding]]] = [
        ("shapes_match", ERROR, (), lambda: checks.check_shapes(x, y)),
        ("not_empty", ERROR, ("shapes_match",), lambda: checks.check_not_empty(x)),
        ("numeric_features", ERROR, (), lambda: checks.check_numeric_features(x, names)),
        ("integer_labels", ERROR, (), lambda: checks.check_integer_labels(y)),
        ("finite", ERROR, ("numeric_features",), lambda: checks.check_finite(x, names)),
        (
            "value_range",
            ERROR,
            ("not_empty", "numeric_features", "finite"),
            lambda: checks.check_value_range(x, value_min=value_min, value_max=value_max),
        ),
        (
            "label_domain",
            ERROR,
            ("not_empty", "integer_labels"),
            lambda: checks.check_label_domain(y, num_classes=num_classes),
        ),
        (
            "enough_samples",
            ERROR,
            ("not_empty",),
            lambda: checks.check_enough_samples(x, min_samples=min_samples),
        ),
        (
            "class_balance",
            WARNING,
            ("label_domain",),
            lambda: checks.check_class_balance(
                y, n_classes=n_classes(), max_imbalance=max_imbalance
            ),
        ),
        (
            "conflicting_duplicates",
            ERROR,
            dup_needs,
            lambda: duplicates.check_conflicting_duplicates(x, y, group_ids=group_ids()),
        ),
        (
            "exact_duplicates",
            WARNING,
            dup_needs,
            lambda: duplicates.check_exact_duplicates(x, y, group_ids=group_ids()),
        ),
    ]
    findings: list[Finding] = []
    for check_id, severity, needs, run in plan:
        missing = blockers(findings, needs)
        findings.append(
            skipped_finding(check_id, severity, missing) if missing else _safe(check_id, run)
        )
    return findings


def _safe(check_id: str, run: Callable[[], Finding]) -> Finding:
    """Run one check; a crash is a failed error finding (fail closed), never a pass."""
    try:
        return run()
    except Exception as e:  # noqa: BLE001 - an unexpected crash must fail the check, not the report
        message = f"check could not run ({type(e).__name__}); inspect the data or report a bug"
        return Finding(check_id, ERROR, False, message, None)
