"""Data validation core: load a labelled dataset, check it, report, and write seeded splits.

The public entry point is :func:`run_validate_data`; the pieces (loading, checks, splitting,
digests) are exported for reuse and tests. Nothing here imports ``kfp`` or TensorFlow.
"""

from __future__ import annotations

from kfp_mlsecops.data.check_plan import CHECK_IDS, run_checks
from kfp_mlsecops.data.findings import Finding
from kfp_mlsecops.data.manifest import dataset_digest, split_digest
from kfp_mlsecops.data.sources import DIGITS_SOURCE, LabeledData, load_dataset
from kfp_mlsecops.data.split_io import Split, load_split, save_split
from kfp_mlsecops.data.splitting import stratified_split
from kfp_mlsecops.data.validate import ValidationOutcome, run_validate_data

__all__ = [
    "CHECK_IDS",
    "DIGITS_SOURCE",
    "Finding",
    "LabeledData",
    "Split",
    "ValidationOutcome",
    "dataset_digest",
    "load_dataset",
    "load_split",
    "run_checks",
    "run_validate_data",
    "save_split",
    "split_digest",
    "stratified_split",
]
