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
    """Validate ``dataset`` (an artifact) or ``source`` and write a seeded, stratified split.

    Loads the data, runs every validation check and always writes the reports; only when no
    error-severity check fails does it write the train/test split (NPZ: ``x``, ``y``, ``lower``,
    ``upper``, ``n_classes``) and the manifest. Fails closed with a one-line error: an unusable
    parameter or unloadable source (InvalidInputError) or a failed check (DataValidationError);
    no split or manifest exists afterwards.

    Args:
        source: ``digits`` (scikit-learn's bundled 8x8 digits, scaled to [0, 1]) or a path the
            container can read: ``.npz``, ``.csv``, ``.parquet``/``.pq`` or an image folder.
        dataset: Optional dataset artifact (e.g. from ``dsl.importer``) in the same formats; it
            takes precedence over ``source``.
        dataset_format: ``npz``, ``csv``, ``parquet`` or ``images`` (one sub-folder per class);
            empty recognises it by suffix or folder (name it for an artifact file: artifact paths
            have no suffix).
        label_column: The label column of a CSV or Parquet table.
        test_fraction: Fraction of each class sent to the test split (strictly between 0 and 1).
        seed: Seeds the split's shuffle (integer >= 0).
        value_min: Lowest valid feature value, in input units; attacks clip to it.
        value_max: Highest valid feature value (e.g. 1.0, or 255 for 8-bit images); must be above
            ``value_min``.
        num_classes: Number of classes K, labels 0..K-1 (0: infer max label + 1).
        evaluation_only: Keep every sample, in order, as the test split (empty train split), to
            evaluate a model trained elsewhere.
        pushgateway_url: Prometheus Pushgateway URL for this step's metrics (empty:
            ``$MLSECOPS_PUSHGATEWAY_URL``, unset: no push); a failed push is only logged.
        run_id: Run id grouping the pushed step metrics (the ``run_id`` label).
        pipeline_name: Pipeline name grouping the pushed step metrics (the ``pipeline`` label).

    Returns:
        train_data: The train split (NPZ); metadata ``digest``.
        test_data: The test split (NPZ) that attack_test and the gate evaluate on; metadata
            ``digest``.
        report: The validation report as Markdown (every check and its result).
        report_json: The validation report as JSON, written even when a check fails.
        manifest: The data manifest JSON with the per-split digests; metadata ``digest``.
        data_digest: The dataset's content digest (``sha256:<hex>`` over train and test), which
            train records and attest_robustness attests.
        test_data_digest: The test split's own digest; the gate checks the split it
            re-evaluates on against it.

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
