"""run_validate_data end to end: clear errors, reports always, splits only on success."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.data import load_split, run_validate_data, split_digest
from kfp_mlsecops.errors import DataValidationError, InvalidInputError

SPLIT_OUTPUTS = ("train_path", "test_path", "manifest_path")


def _report(out: dict[str, Path]) -> dict:
    return json.loads(out["report_json_path"].read_text(encoding="utf-8"))


def _finding(report: dict, check_id: str) -> dict:
    return next(f for f in report["findings"] if f["id"] == check_id)


def _assert_no_splits(out: dict[str, Path]) -> None:
    for name in SPLIT_OUTPUTS:
        assert not out[name].exists(), f"{name} must not exist after a failed validation"
    assert not list(out["train_path"].parent.glob(".*.tmp")), "no temporary files left behind"


# --- bad data: one clear DataValidationError naming the dataset and the check --------------------


def _nan_in_x(xy, npz_file, csv_file):
    x, y = xy()
    x[[3, 7, 9], 1] = [np.nan, np.inf, -np.inf]
    return npz_file(x, y), {}, "x has 3 non-finite values (NaN/inf)"


def _label_over_num_classes(xy, npz_file, csv_file):
    x, y = xy()
    y[5] = 7
    return npz_file(x, y), {"num_classes": 3}, "labels >= num_classes=3"


def _negative_label(xy, npz_file, csv_file):
    x, y = xy()
    y[0] = -1
    return npz_file(x, y), {}, "1 negative labels"


def _length_mismatch(xy, npz_file, csv_file):
    x, y = xy()
    return npz_file(x, y[:-2]), {}, "x has 60 samples but y has 58 labels"


def _empty_npz(xy, npz_file, csv_file):
    return npz_file(np.zeros((0, 4)), np.zeros(0, dtype=np.int64)), {}, "no samples"


def _header_only_csv(xy, npz_file, csv_file):
    return csv_file(["a", "b", "label"], []), {}, "no samples"


def _conflicting_duplicates(xy, npz_file, csv_file):
    x, y = xy()
    x[25] = x[3]  # sample 3 has label 0, sample 25 has label 1
    x[45] = x[3]  # label 2
    return npz_file(x, y), {}, "3 samples in 1 groups of identical inputs have different labels"


def _value_out_of_range(xy, npz_file, csv_file):
    x, y = xy()
    x[0, 0] = 1.5
    x[1, 1] = -0.25
    return npz_file(x, y), {}, "x has 2 values outside [0, 1]"


def _too_few_samples(xy, npz_file, csv_file):
    x, y = xy(n_per_class=4)
    return npz_file(x, y), {"min_samples": 20}, "only 12 samples, fewer than min_samples=20"


def _class_with_one_sample(xy, npz_file, csv_file):
    x, y = xy()
    y[0] = 3  # class 3 has exactly one sample: it cannot be in both splits
    return npz_file(x, y), {}, "class 3 missing from a split"


def _fractional_label(xy, npz_file, csv_file):
    x, y = xy()
    y = y.astype(np.float64)
    y[4] = 1.5
    return npz_file(x, y), {}, "labels that are not whole numbers"


def _text_in_csv_column(xy, npz_file, csv_file):
    rows = [[0.1 * (i % 10), "n/a" if i == 5 else 0.5, i % 2] for i in range(30)]
    return csv_file(["a", "b", "label"], rows), {}, "column 'b' = 'n/a'"


BAD_DATA = [
    ("finite", _nan_in_x),
    ("label_domain", _label_over_num_classes),
    ("label_domain", _negative_label),
    ("shapes_match", _length_mismatch),
    ("not_empty", _empty_npz),
    ("not_empty", _header_only_csv),
    ("conflicting_duplicates", _conflicting_duplicates),
    ("value_range", _value_out_of_range),
    ("enough_samples", _too_few_samples),
    ("split_coverage", _class_with_one_sample),
    ("integer_labels", _fractional_label),
    ("numeric_features", _text_in_csv_column),
]


@pytest.mark.parametrize(("check_id", "make"), BAD_DATA, ids=[m.__name__[1:] for _, m in BAD_DATA])
def test_bad_data_fails_one_named_check(
    check_id, make, xy, npz_file, csv_file, validate, out
) -> None:
    source, kwargs, detail = make(xy, npz_file, csv_file)
    with pytest.raises(DataValidationError) as info:
        validate(source, **kwargs)
    message = str(info.value)
    assert message.startswith(f"dataset '{source}': check '{check_id}' failed: ")
    assert detail in message
    assert "\n" not in message
    report = _report(out)
    assert report["schema"] == C.VALIDATION_REPORT_SCHEMA
    assert report["passed"] is False
    finding = _finding(report, check_id)
    assert finding["passed"] is False and finding["skipped"] is False
    assert finding["severity"] == "error"
    assert check_id in out["report_md_path"].read_text(encoding="utf-8")
    _assert_no_splits(out)


def test_checks_that_cannot_run_are_marked_skipped(xy, npz_file, validate, out) -> None:
    x, y = xy()
    x[0, 0] = np.nan
    with pytest.raises(DataValidationError):
        validate(npz_file(x, y))
    report = _report(out)
    value_range = _finding(report, "value_range")
    assert value_range["skipped"] is True and value_range["passed"] is False
    assert "'finite'" in value_range["message"]
    assert _finding(report, "label_domain")["passed"] is True  # independent checks still ran
    assert (report["n_errors"], report["n_skipped"]) == (1, 1)
    assert "| value_range | error | skipped |" in out["report_md_path"].read_text(encoding="utf-8")


def test_several_failures_are_all_named_in_one_line(xy, npz_file, validate) -> None:
    x, y = xy()
    x[0, 0] = 2.0
    y[1] = -4
    with pytest.raises(DataValidationError) as info:
        validate(npz_file(x, y))
    message = str(info.value)
    assert "check 'value_range' failed" in message
    assert "also failed: 'label_domain'" in message


def test_failure_removes_stale_outputs_of_an_earlier_run(xy, npz_file, validate, out) -> None:
    x, y = xy()
    validate(npz_file(x, y, name="good.npz"))
    assert all(out[name].exists() for name in SPLIT_OUTPUTS)
    x[2, 2] = np.nan
    with pytest.raises(DataValidationError):
        validate(npz_file(x, y, name="bad.npz"))
    _assert_no_splits(out)
    assert _report(out)["source"].endswith("bad.npz")


# --- unusable inputs and parameters: InvalidInputError -------------------------------------------


def test_missing_source_still_writes_a_failed_report(tmp_path: Path, validate, out) -> None:
    source = str(tmp_path / "missing.npz")
    with pytest.raises(InvalidInputError, match=r"missing\.npz': no such file or folder"):
        validate(source)
    report = _report(out)
    assert report["passed"] is False
    assert report["findings"][0]["id"] == "load"
    _assert_no_splits(out)


def test_unsupported_extension_is_an_input_error(tmp_path: Path, validate, out) -> None:
    path = tmp_path / "data.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(
        InvalidInputError, match=r"data\.json': unsupported format \(suffix '\.json'\)"
    ):
        validate(str(path))
    _assert_no_splits(out)


def test_pickled_npz_is_an_input_error(tmp_path: Path, validate, out) -> None:
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.array([[1], {"a": 1}], dtype=object), y=np.array([0, 1]))
    with pytest.raises(InvalidInputError, match=r"obj\.npz': array 'x' is an object \(pickled\)"):
        validate(str(path))
    _assert_no_splits(out)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5, float("nan"), True])
def test_test_fraction_outside_open_unit_interval_is_refused(fraction, validate, out) -> None:
    with pytest.raises(InvalidInputError, match=r"test_fraction .*strictly between 0 and 1"):
        validate("digits", test_fraction=fraction)
    assert not out["report_json_path"].exists()  # refused before any work
    _assert_no_splits(out)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"value_min": 1.0, "value_max": 1.0}, "value_min must be below value_max"),
        ({"value_max": float("inf")}, "value_max"),
        ({"min_samples": 1}, "min_samples"),
        ({"max_imbalance": 0.5}, "max_imbalance"),
        ({"num_classes": -1}, "num_classes"),
        ({"seed": -3}, "seed"),
        ({"label_column": ""}, "label_column"),
    ],
)
def test_unusable_parameters_are_refused_by_name(kwargs, named, validate) -> None:
    with pytest.raises(InvalidInputError, match=named):
        validate("digits", **kwargs)


def test_output_over_the_input_dataset_is_refused(xy, npz_file, out) -> None:
    x, y = xy()
    source = npz_file(x, y)
    paths = {**out, "train_path": Path(source)}
    with pytest.raises(InvalidInputError, match=r"train_path .*is the input dataset"):
        run_validate_data(source=source, **paths)
    assert Path(source).exists()


def test_repeated_output_paths_are_refused(out) -> None:
    paths = {**out, "test_path": out["train_path"]}
    with pytest.raises(InvalidInputError, match="must differ"):
        run_validate_data(source="digits", **paths)


# --- happy paths ---------------------------------------------------------------------------------


def test_digits_pass_and_split_stratified(validate, out) -> None:
    outcome = validate("digits", seed=0)
    assert outcome.n_classes == 10
    assert outcome.sample_shape == (8, 8, 1)
    assert outcome.n_train + outcome.n_test == 1797
    assert 0.19 < outcome.n_test / 1797 < 0.21
    assert outcome.n_warnings == 0
    assert outcome.data_digest.startswith("sha256:") and len(outcome.data_digest) == 71

    report = _report(out)
    assert report["passed"] is True
    assert report["n_samples"] == 1797 and report["feature_shape"] == [8, 8, 1]
    assert sum(report["class_counts"].values()) == 1797
    assert all(f["passed"] for f in report["findings"])
    assert "# Data validation: PASSED" in out["report_md_path"].read_text(encoding="utf-8")

    train, test = load_split(out["train_path"]), load_split(out["test_path"])
    assert train.x.shape == (outcome.n_train, 8, 8, 1) and test.x.shape == (outcome.n_test, 8, 8, 1)
    assert train.x.dtype == np.float32 and train.y.dtype == np.int64
    assert (train.lower, train.upper, train.n_classes) == (0.0, 1.0, 10)
    assert set(train.y.tolist()) == set(range(10)) == set(test.y.tolist())
    assert train.y[:20].tolist() != sorted(train.y[:20].tolist())  # shuffled, not class-ordered

    manifest = json.loads(out["manifest_path"].read_text(encoding="utf-8"))
    assert manifest["schema"] == C.DATA_MANIFEST_SCHEMA and manifest["algorithm"] == "sha256"
    assert manifest["digest"] == outcome.data_digest
    assert manifest["splits"]["train"]["digest"] == split_digest(train)
    assert manifest["splits"]["test"]["digest"] == split_digest(test)


def test_digest_is_deterministic_and_depends_on_the_seed(tmp_path: Path) -> None:
    def run(folder: str, seed: int) -> tuple[str, bytes]:
        base = tmp_path / folder
        outcome = run_validate_data(
            source="digits",
            train_path=base / "train.npz",
            test_path=base / "test.npz",
            report_json_path=base / "report.json",
            report_md_path=base / "report.md",
            manifest_path=base / "manifest.json",
            seed=seed,
        )
        return outcome.data_digest, (base / "train.npz").read_bytes()

    first, again, other = run("a", 0), run("b", 0), run("c", 1)
    assert first == again  # same digest and byte-identical split files
    assert other[0] != first[0]


def test_digest_changes_when_one_value_changes(xy, npz_file, validate) -> None:
    x, y = xy()
    before = validate(npz_file(x, y, name="a.npz")).data_digest
    x[10, 0] = x[10, 0] / 2
    assert validate(npz_file(x, y, name="b.npz")).data_digest != before


def test_csv_tabular_happy_path(csv_file, validate, out) -> None:
    rng = np.random.default_rng(3)
    rows = [[*np.round(rng.uniform(0, 1, 3), 6).tolist(), str(i % 2)] for i in range(40)]
    outcome = validate(csv_file(["f1", "f2", "f3", "label"], rows), test_fraction=0.25)
    assert outcome.sample_shape == (3,)
    assert (outcome.n_train, outcome.n_test, outcome.n_classes) == (30, 10, 2)
    train = load_split(out["train_path"])
    assert train.x.shape == (30, 3) and not train.is_image
    assert np.bincount(train.y).tolist() == [15, 15]


def test_warnings_do_not_fail_but_are_reported(xy, npz_file, validate, out) -> None:
    x, y = xy(n_per_class=40, n_classes=2)
    x, y = x[:43], y[:43]  # 40 of class 0 and 3 of class 1: ratio 13.3 > 10
    x[5] = x[4]  # an exact duplicate (same label 0)
    outcome = validate(npz_file(x, y))
    assert outcome.n_warnings == 2
    report = _report(out)
    assert report["passed"] is True and report["n_warnings"] == 2
    balance = _finding(report, "class_balance")
    assert balance["severity"] == "warning" and balance["passed"] is False
    assert balance["measured"] == pytest.approx(40 / 3)
    duplicates = _finding(report, "exact_duplicates")
    assert duplicates["passed"] is False and duplicates["measured"] == 1
    markdown = out["report_md_path"].read_text(encoding="utf-8")
    assert "| class_balance | warning | **no** |" in markdown
    assert all(out[name].exists() for name in SPLIT_OUTPUTS)


def test_custom_value_range_is_stored_in_the_splits(xy, npz_file, validate, out) -> None:
    x, y = xy()
    outcome = validate(npz_file(x * 255.0, y), value_min=0.0, value_max=255.0)
    split = load_split(out["test_path"])
    assert (split.lower, split.upper) == (0.0, 255.0)
    assert outcome.n_classes == 3


def test_dataset_artifact_without_extension_is_read_as_the_given_format(tmp_path):
    """KFP artifact paths have no extension: dataset_path + dataset_format must still work."""
    import numpy as np

    from kfp_mlsecops.data import load_split, run_validate_data

    rng = np.random.default_rng(0)
    artifact = tmp_path / "dataset"  # no extension, as KFP names it
    with open(artifact, "wb") as handle:
        np.savez(handle, x=rng.random((200, 4)).astype("float32"), y=np.arange(200) % 4)
    out = tmp_path / "out"
    outcome = run_validate_data(
        source="digits",  # ignored: the artifact takes precedence
        dataset_path=str(artifact),
        dataset_format="npz",
        train_path=out / "train",
        test_path=out / "test",
        report_json_path=out / "report.json",
        report_md_path=out / "report.md",
        manifest_path=out / "manifest.json",
    )
    assert outcome.n_classes == 4
    assert load_split(out / "train").x.shape[1:] == (4,)
