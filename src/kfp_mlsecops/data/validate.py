"""validate_data core: load, check, report, and (only when every error check passes) split."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kfp_mlsecops._io import write_json_atomic, write_text_atomic
from kfp_mlsecops.data.check_plan import blockers, run_checks
from kfp_mlsecops.data.checks import (
    check_split_coverage,
    class_counts,
    evaluation_only_finding,
    resolve_n_classes,
)
from kfp_mlsecops.data.findings import ERROR, Finding, skipped_finding
from kfp_mlsecops.data.manifest import build_manifest
from kfp_mlsecops.data.parameters import ValidationParams
from kfp_mlsecops.data.report import build_report, render_markdown
from kfp_mlsecops.data.sources import DIGITS_SOURCE, LabeledData, load_dataset
from kfp_mlsecops.data.split_io import Split, save_split
from kfp_mlsecops.data.splitting import stratified_split
from kfp_mlsecops.errors import DataValidationError, InvalidInputError

__all__ = ["LOAD_CHECK_ID", "ValidationOutcome", "run_validate_data"]

#: Id of the single finding recorded when the source cannot be loaded at all.
LOAD_CHECK_ID = "load"

PathArg = str | os.PathLike[str]


@dataclass(frozen=True)
class ValidationOutcome:
    """What a successful validation produced (the splits and manifest are on disk)."""

    data_digest: str
    #: Content digest of the test split alone (what attack-test evaluates and the gate binds).
    test_digest: str
    n_train: int
    n_test: int
    n_classes: int
    sample_shape: tuple[int, ...]
    n_warnings: int


def run_validate_data(
    *,
    source: str,
    train_path: PathArg,
    test_path: PathArg,
    report_json_path: PathArg,
    report_md_path: PathArg,
    manifest_path: PathArg,
    dataset_path: PathArg | None = None,
    dataset_format: str = "",
    label_column: str = "label",
    test_fraction: float = 0.2,
    seed: int = 0,
    value_min: float = 0.0,
    value_max: float = 1.0,
    num_classes: int = 0,
    min_samples: int = 20,
    max_imbalance: float = 10.0,
    evaluation_only: bool = False,
) -> ValidationOutcome:
    """Validate ``source``, always write the JSON and Markdown reports, then split or raise.

    ``source`` is ``'digits'``, a file or a folder in a registered format
    (:mod:`kfp_mlsecops.data.formats`: NPZ arrays ``x``/``y``, CSV or Parquet tables with the label
    column ``label_column``, image folders with one sub-folder per class). ``dataset_path`` (a KFP
    Dataset artifact) takes precedence over ``source``. ``dataset_format`` names the format of what
    is read (``npz``, ``csv``, ``parquet``, ``images``; ``""`` recognises it by suffix or folder;
    KFP artifact paths have no suffix, so name it for an artifact file).
    Features must lie in [``value_min``, ``value_max``]; labels in
    0..K-1 with K = ``num_classes`` (0 infers max label + 1); at least ``min_samples`` samples;
    a largest/smallest class ratio above ``max_imbalance`` is a warning. The stratified split sends
    ``test_fraction`` of each class to test, shuffled with ``seed``. ``evaluation_only`` keeps
    every sample, in order, as the test split (the train split is empty): for evaluating a model
    trained elsewhere on data it never saw.

    Raises InvalidInputError for unusable parameters or an unloadable source, and
    DataValidationError naming the first failed check when an error-severity check fails. On any
    failure the split and manifest files do not exist afterwards (stale ones are removed); on
    success both splits are written with :func:`save_split` and the manifest (schema
    ``DATA_MANIFEST_SCHEMA``) last, carrying the content digest defined in
    :mod:`kfp_mlsecops.data.manifest`.
    """
    params = ValidationParams.checked(
        label_column=label_column,
        test_fraction=test_fraction,
        seed=seed,
        value_min=value_min,
        value_max=value_max,
        num_classes=num_classes,
        min_samples=min_samples,
        max_imbalance=max_imbalance,
        evaluation_only=evaluation_only,
    )
    data_format = dataset_format or None
    if dataset_path is not None:
        source = str(dataset_path)
    outputs = _check_outputs(
        source,
        train=train_path,
        test=test_path,
        report_json=report_json_path,
        report_md=report_md_path,
        manifest=manifest_path,
    )
    split_files = (outputs["train"], outputs["test"], outputs["manifest"])
    try:
        return _validate(source, params, outputs, data_format)
    except BaseException:
        for path in split_files:
            path.unlink(missing_ok=True)
        raise


def _check_outputs(source: str, **paths: PathArg) -> dict[str, Path]:
    """Return the output paths; raise InvalidInputError if one is empty, repeated or the source."""
    resolved: dict[str, Path] = {}
    for name, value in paths.items():
        if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
            raise InvalidInputError(f"{name}_path {value!r}: must be a file path")
        resolved[name] = Path(value)
    real = {name: path.resolve() for name, path in resolved.items()}
    if len(set(real.values())) != len(real):
        raise InvalidInputError(f"output paths {sorted(map(str, real.values()))}: must differ")
    if source != DIGITS_SOURCE and isinstance(source, str) and source.strip():
        source_path = Path(source).resolve()
        for name, path in real.items():
            if path == source_path:
                raise InvalidInputError(
                    f"{name}_path '{path}': is the input dataset; write outputs elsewhere"
                )
    return resolved


def _validate(
    source: str,
    params: ValidationParams,
    outputs: dict[str, Path],
    data_format: str | None = None,
) -> ValidationOutcome:
    try:
        data = load_dataset(source, label_column=params.label_column, data_format=data_format)
    except InvalidInputError as e:
        failed = Finding(LOAD_CHECK_ID, ERROR, False, str(e), None)
        report = build_report(
            source=source,
            findings=[failed],
            n_samples=None,
            feature_shape=None,
            n_classes=None,
            class_counts=None,
            parameters=params.to_dict(),
        )
        _write_reports(report, outputs)
        raise
    findings = run_checks(
        data,
        value_min=params.value_min,
        value_max=params.value_max,
        num_classes=params.num_classes,
        min_samples=params.min_samples,
        max_imbalance=params.max_imbalance,
    )
    n_classes: int | None = None
    counts: list[int] | None = None
    index: tuple[np.ndarray, np.ndarray] | None = None
    missing = blockers(findings, ("label_domain",))
    if missing:
        findings.append(skipped_finding("split_coverage", ERROR, missing))
    else:
        n_classes = resolve_n_classes(data.y, params.num_classes)
        counts = class_counts(data.y, n_classes).tolist()
        if params.evaluation_only:
            index = (np.empty(0, dtype=np.int64), np.arange(len(data.y), dtype=np.int64))
            findings.append(evaluation_only_finding(len(data.y)))
        else:
            index = stratified_split(
                data.y, n_classes=n_classes, test_fraction=params.test_fraction, seed=params.seed
            )
            findings.append(
                check_split_coverage(
                    data.y, n_classes=n_classes, train_index=index[0], test_index=index[1]
                )
            )
    x_shape = tuple(int(d) for d in data.x.shape)
    report = build_report(
        source=source,
        findings=findings,
        n_samples=x_shape[0] if x_shape else None,
        feature_shape=x_shape[1:] if x_shape else None,
        n_classes=n_classes,
        class_counts=counts,
        parameters=params.to_dict(),
        split_sizes=None if index is None else {"train": index[0].size, "test": index[1].size},
        class_names=data.class_names,
    )
    _write_reports(report, outputs)
    if not report["passed"] or index is None or n_classes is None:
        raise DataValidationError(_failure_message(source, findings))
    return _write_splits(data, params, outputs, n_classes, index, report["n_warnings"])


def _failure_message(source: str, findings: list[Finding]) -> str:
    """One line: the first failed error check, what to do, and the other failed checks by name."""
    failed = [f for f in findings if f.is_failed_error and not f.skipped]
    failed = failed or [f for f in findings if f.is_failed_error]
    if not failed:
        return f"dataset '{source}': no check passed; cannot accept the data"
    first, others = failed[0], failed[1:]
    message = f"dataset '{source}': check '{first.id}' failed: {first.message}"
    if others:
        names = ", ".join(f"'{f.id}'" for f in others)
        message += f"; also failed: {names} (see the validation report)"
    return message


def _write_reports(report: dict[str, Any], outputs: dict[str, Path]) -> None:
    _guarded(outputs["report_json"], lambda: write_json_atomic(outputs["report_json"], report))
    _guarded(
        outputs["report_md"],
        lambda: write_text_atomic(outputs["report_md"], render_markdown(report)),
    )


def _guarded(path: Path, write: Callable[[], object]) -> None:
    """Run ``write``; turn an OS error into InvalidInputError naming ``path``."""
    try:
        write()
    except OSError as e:
        raise InvalidInputError(
            f"output '{path}': cannot write ({type(e).__name__}); check the path is writable"
        ) from e


def _write_splits(
    data: LabeledData,
    params: ValidationParams,
    outputs: dict[str, Path],
    n_classes: int,
    index: tuple[np.ndarray, np.ndarray],
    n_warnings: int,
) -> ValidationOutcome:
    x = np.asarray(data.x, dtype=np.float32)
    y = np.asarray(data.y).astype(np.int64)
    if not np.isfinite(x).all():  # fail closed: the range check makes this impossible
        raise DataValidationError(
            f"dataset '{data.source}': values not finite after float32 conversion; rescale them"
        )
    train, test = (
        Split(x=x[i], y=y[i], lower=params.value_min, upper=params.value_max, n_classes=n_classes)
        for i in index
    )
    _guarded(outputs["train"], lambda: save_split(outputs["train"], train))
    _guarded(outputs["test"], lambda: save_split(outputs["test"], test))
    manifest = build_manifest(
        source=data.source,
        train=train,
        test=test,
        train_path=str(outputs["train"]),
        test_path=str(outputs["test"]),
        test_fraction=1.0 if params.evaluation_only else params.test_fraction,
        seed=params.seed,
        evaluation_only=params.evaluation_only,
    )
    _guarded(outputs["manifest"], lambda: write_json_atomic(outputs["manifest"], manifest))
    return ValidationOutcome(
        data_digest=manifest["digest"],
        test_digest=manifest["splits"]["test"]["digest"],
        n_train=int(train.x.shape[0]),
        n_test=int(test.x.shape[0]),
        n_classes=n_classes,
        sample_shape=tuple(int(d) for d in x.shape[1:]),
        n_warnings=int(n_warnings),
    )
