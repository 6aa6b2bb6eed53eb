"""KFP component: validate a dataset and write a train/test split, reports and a digest."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Output

from kfp_mlsecops.components._image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def validate_data(
    train_data: Output[Dataset],
    test_data: Output[Dataset],
    report: Output[Markdown],
    report_json: Output[Artifact],
    manifest: Output[Artifact],
    source: str = "digits",
    dataset: Input[Dataset] = None,
    dataset_format: str = "",
    label_column: str = "label",
    test_fraction: float = 0.2,
    seed: int = 0,
    value_min: float = 0.0,
    value_max: float = 1.0,
    num_classes: int = 0,
    evaluation_only: bool = False,
    pushgateway_url: str = "",
    run_id: str = "",
    pipeline_name: str = "secure-training",
) -> NamedTuple("ValidateDataOutputs", [("data_digest", str), ("test_data_digest", str)]):
    """Validate ``dataset`` (an artifact) or ``source`` ("digits" or a path) and split it.

    ``dataset_format`` is ``npz``, ``csv``, ``parquet`` or ``images`` (a folder with one
    sub-folder per class); empty recognises it by suffix or folder (name it for an artifact
    file: artifact paths have no suffix). Features must lie in [``value_min``, ``value_max``];
    ``label_column`` names a table's label column. ``evaluation_only`` keeps every sample as
    the test split (no train split), for a model trained elsewhere.
    Fails with a one-line error when any error-severity check fails; no split is written then.
    Outputs the dataset digest (train + test) and the test split's own digest, which the gate
    uses to bind the split it re-evaluates on to this step's output.
    """
    from collections import namedtuple

    from kfp_mlsecops.data import run_validate_data
    from kfp_mlsecops.monitoring import record_step

    with record_step(
        "validate_data",
        pipeline=pipeline_name,
        run_id=run_id,
        pushgateway=pushgateway_url or None,
        artifacts={"validation_report": report_json.path},
    ):
        outcome = run_validate_data(
            source=source,
            dataset_path=dataset.path if dataset is not None else None,
            dataset_format=dataset_format,
            train_path=train_data.path,
            test_path=test_data.path,
            report_json_path=report_json.path,
            report_md_path=report.path,
            manifest_path=manifest.path,
            label_column=label_column,
            test_fraction=test_fraction,
            seed=seed,
            value_min=value_min,
            value_max=value_max,
            num_classes=num_classes,
            evaluation_only=evaluation_only,
        )
    for artifact in (train_data, test_data, manifest):
        artifact.metadata["digest"] = outcome.data_digest
    outputs = namedtuple("ValidateDataOutputs", ["data_digest", "test_data_digest"])
    return outputs(outcome.data_digest, outcome.test_digest)
