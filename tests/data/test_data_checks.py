"""The individual checks and their ordering, called directly on arrays."""

from __future__ import annotations

import numpy as np
import pytest

from kfp_mlsecops.data import CHECK_IDS, Finding, LabeledData, run_checks
from kfp_mlsecops.data.check_plan import _safe
from kfp_mlsecops.data.checks import (
    check_integer_labels,
    check_label_domain,
    check_numeric_features,
    check_shapes,
)
from kfp_mlsecops.data.duplicates import (
    check_conflicting_duplicates,
    check_exact_duplicates,
    row_group_ids,
)
from kfp_mlsecops.data.report import build_report, render_markdown

DEFAULTS = {
    "value_min": 0.0,
    "value_max": 1.0,
    "num_classes": 0,
    "min_samples": 2,
    "max_imbalance": 10.0,
}


def test_duplicates_are_grouped_counted_and_split_by_label() -> None:
    a, b, c = [0.1, 0.2], [0.3, 0.4], [0.5, 0.6]
    x = np.array([a, a, a, b, b, c])
    y = np.array([0, 1, 0, 2, 2, 0])
    conflicting = check_conflicting_duplicates(x, y)
    assert not conflicting.passed and conflicting.measured == 3
    assert "samples 0 and 1: labels 0 vs 1" in conflicting.message
    exact = check_exact_duplicates(x, y)
    assert not exact.passed and exact.measured == 2  # sample 2 repeats 0, sample 4 repeats 3
    assert exact.severity == "warning"


def test_rows_are_compared_as_stored_float32_with_signed_zero_folded() -> None:
    x = np.array([[0.0, 1.0], [-0.0, 1.0], [0.0, 1.0 + 1e-12], [0.0, 0.5]])
    assert row_group_ids(x).tolist() == [0, 0, 0, 3]


def test_distinct_rows_have_no_duplicates() -> None:
    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.arange(10) % 2
    assert check_conflicting_duplicates(x, y).passed
    assert check_exact_duplicates(x, y).passed


@pytest.mark.parametrize(
    ("y", "fragment"),
    [
        (np.array([0.0, 1.5]), "not whole numbers"),
        (np.array([0.0, np.nan]), "not whole numbers"),
        (np.array(["cat", "dog"]), "map labels to integers"),
    ],
)
def test_labels_must_be_whole_numbers(y, fragment) -> None:
    finding = check_integer_labels(y)
    assert not finding.passed and fragment in finding.message


def test_a_single_class_is_not_a_classification_dataset() -> None:
    finding = check_label_domain(np.zeros(10), num_classes=0)
    assert not finding.passed and "at least 2 classes" in finding.message


def test_absurd_label_is_caught_without_allocating_classes() -> None:
    finding = check_label_domain(np.array([0.0, 1.0, 1e18]), num_classes=0)
    assert not finding.passed and "only 3 samples" in finding.message


def test_shapes_catch_two_dimensional_labels() -> None:
    finding = check_shapes(np.zeros((4, 2)), np.zeros((4, 1)))
    assert not finding.passed and "labels must be 1-D" in finding.message


def test_numeric_features_name_the_first_bad_csv_cell() -> None:
    x = np.array([["0.1", "0.2"], ["0.3", "x"]])
    finding = check_numeric_features(x, ("a", "b"))
    assert not finding.passed
    assert "1 non-numeric cells (first: sample 1, column 'b' = 'x')" in finding.message


def test_all_checks_run_in_order_and_dependents_skip() -> None:
    x = np.array([["a"], ["b"], ["c"]])
    data = LabeledData(source="t", x=x, y=np.array([0, 1, 1]))
    findings = run_checks(data, **DEFAULTS)
    assert [f.id for f in findings] == list(CHECK_IDS[:-1])  # split_coverage runs after splitting
    by_id = {f.id: f for f in findings}
    assert not by_id["numeric_features"].passed
    for dependent in ("finite", "value_range", "conflicting_duplicates", "exact_duplicates"):
        assert by_id[dependent].skipped and not by_id[dependent].passed
    assert by_id["label_domain"].passed  # labels are fine and checked independently


def test_a_crashing_check_is_a_failed_error_not_a_pass() -> None:
    def crash() -> Finding:
        raise ZeroDivisionError

    finding = _safe("class_balance", crash)
    assert finding.severity == "error" and not finding.passed
    assert "ZeroDivisionError" in finding.message


def test_report_fails_closed_without_findings() -> None:
    report = build_report(
        source="t",
        findings=[],
        n_samples=None,
        feature_shape=None,
        n_classes=None,
        class_counts=None,
        parameters={},
    )
    assert report["passed"] is False
    assert "FAILED" in render_markdown(report)
