"""scan_model on the real trained model (clean) and on real malicious artifacts (flagged)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import _safety_artifacts as A
import pytest

from kfp_mlsecops import constants as c
from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.safety import ScanReport, scan_model
from kfp_mlsecops.safety import report as R


def _kinds(report: ScanReport) -> set[tuple[str, str]]:
    return {(f.path, f.kind) for f in report.findings}


def test_trained_model_is_clean(trained_model: Path) -> None:
    report = scan_model(trained_model)
    assert report.findings == ()
    assert {"1/saved_model.pb", "provenance.json"} <= set(report.files_scanned)
    assert any(p.startswith("1/variables/variables.data") for p in report.files_scanned)
    report.require_safe()
    doc = report.to_dict()
    assert doc[c.SCHEMA] == c.MODEL_SCAN_SCHEMA and doc["n_findings"] == 0
    json.dumps(doc)


def test_lambda_layer_in_keras_file(model_copy: Path, lambda_keras: Path) -> None:
    shutil.copy(lambda_keras, model_copy / "model.keras")
    report = scan_model(model_copy)
    assert ("model.keras:config.json", R.KERAS_LAMBDA) in _kinds(report)
    assert any("Lambda layer 'double'" in f.detail for f in report.findings)
    with pytest.raises(VerificationError, match=r"Lambda layer 'double'.*; do not deploy$") as info:
        report.require_safe()
    assert "\n" not in str(info.value)


def test_legacy_h5_model_with_lambda(model_copy: Path, lambda_keras: Path) -> None:
    import keras

    keras.saving.load_model(lambda_keras, safe_mode=False).save(model_copy / "legacy.h5")
    kinds = _kinds(scan_model(model_copy))
    assert ("legacy.h5", R.LEGACY_H5_MODEL) in kinds
    assert ("legacy.h5", R.KERAS_LAMBDA) in kinds


@pytest.mark.parametrize(
    ("edit", "detail"),
    [
        (lambda cfg: cfg.update(module="evil_pkg.models"), "from module 'evil_pkg.models'"),
        (
            lambda cfg: cfg["config"]["layers"][1].update(registered_name="Custom>Backdoor"),
            "custom registered object 'Custom>Backdoor'",
        ),
        (
            lambda cfg: cfg["config"]["layers"][1].update(module="__main__"),
            "from module '__main__'",
        ),
    ],
)
def test_custom_code_in_keras_config(
    model_copy: Path, clean_keras: Path, edit: object, detail: str
) -> None:
    source = clean_keras
    A.edit_keras_archive(source, model_copy / "model.keras", config_edit=edit)
    report = scan_model(model_copy)
    assert [f.kind for f in report.findings] == [R.KERAS_CUSTOM_CODE]
    assert detail in report.findings[0].detail


def test_unexpected_and_escaping_members_in_keras_file(model_copy: Path, clean_keras: Path) -> None:
    source = clean_keras
    A.edit_keras_archive(
        source,
        model_copy / "model.keras",
        extra={"../../etc/cron.d/x": b"* * * * * root true", "notes.txt": b"hello"},
    )
    kinds = _kinds(scan_model(model_copy))
    assert ("model.keras:../../etc/cron.d/x", R.ARCHIVE) in kinds
    assert ("model.keras:notes.txt", R.ARCHIVE) in kinds


def test_keras_file_that_is_not_a_zip(model_copy: Path) -> None:
    (model_copy / "model.keras").write_bytes(b"not a zip at all")
    assert ("model.keras", R.UNSCANNABLE) in _kinds(scan_model(model_copy))


def test_py_function_in_savedmodel(model_copy: Path, savedmodels: dict[str, Path]) -> None:
    shutil.rmtree(model_copy / "1")
    shutil.copytree(savedmodels["pyfunc"], model_copy / "1")
    report = scan_model(model_copy)
    assert _kinds(report) == {("1/saved_model.pb", R.TF_UNSAFE_OP)}
    assert "op EagerPyFunc (runs Python code)" in report.findings[0].detail


def test_file_io_ops_in_savedmodel(model_copy: Path, savedmodels: dict[str, Path]) -> None:
    shutil.copytree(savedmodels["file_io"], model_copy / "2")
    details = " | ".join(f.detail for f in scan_model(model_copy).findings)
    assert "op WriteFile (reads or writes files)" in details
    assert "op ReadFile (reads or writes files)" in details


def test_checkpoint_write_from_a_serving_function(
    model_copy: Path, savedmodels: dict[str, Path]
) -> None:
    shutil.copytree(savedmodels["checkpoint_write"], model_copy / "2")
    report = scan_model(model_copy)
    assert [f.detail.split(" in ")[0] for f in report.findings] == [
        "op SaveV2 (checkpoint I/O outside the SavedModel saver)"
    ]


def test_unknown_op_in_savedmodel(tmp_path: Path, model_copy: Path) -> None:
    A.with_unknown_op(model_copy / "1", tmp_path / "edited")
    shutil.rmtree(model_copy / "1")
    shutil.copytree(tmp_path / "edited", model_copy / "1")
    report = scan_model(model_copy)
    assert _kinds(report) == {("1/saved_model.pb", R.TF_UNKNOWN_OP)}
    assert "op EvilCustomKernel" in report.findings[0].detail


def test_corrupt_savedmodel_is_unscannable(model_copy: Path) -> None:
    (model_copy / "1" / "saved_model.pb").write_bytes(b"\xff" * 64)
    assert ("1/saved_model.pb", R.UNSCANNABLE) in _kinds(scan_model(model_copy))


def test_symlink_is_a_finding(model_copy: Path) -> None:
    os.symlink("/etc/passwd", model_copy / "link")
    assert ("link", R.NOT_REGULAR_FILE) in _kinds(scan_model(model_copy))


def test_empty_directory_does_not_pass(tmp_path: Path) -> None:
    report = scan_model(tmp_path)
    assert report.files_scanned == ()
    with pytest.raises(VerificationError, match="no file was scanned; do not deploy"):
        report.require_safe()


def test_missing_directory_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        scan_model(tmp_path / "absent")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidInputError, match="not a directory"):
        scan_model(tmp_path / "file")


def test_many_findings_are_summarised_on_one_line(tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / f"m{i}.pkl").write_bytes(A.evil_pickle())
    report = scan_model(tmp_path)
    assert len(report.findings) == 24
    with pytest.raises(
        VerificationError, match=r"24 unsafe finding\(s\).*and 16 more; .*do not deploy$"
    ) as info:
        report.require_safe()
    assert "\n" not in str(info.value)
