"""Tables (CSV, Parquet): split named columns into labels and features, as the checks expect."""

from __future__ import annotations

import numpy as np

from kfp_mlsecops.data.labeled import LabeledData
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["table_to_data"]


def table_to_data(
    source: str, header: list[str], columns: list[np.ndarray], label_column: str
) -> LabeledData:
    """Return the label column as ``y`` and the others as ``x`` (float64, or text if any is).

    Each column is float64 (missing -> NaN) or text; text stays text so the 'numeric' check
    reports it.
    """
    if not isinstance(label_column, str) or not label_column.strip():
        raise InvalidInputError(f"dataset '{source}': label_column is empty; name the label column")
    label_column = label_column.strip()
    if header.count(label_column) != 1:
        found = "missing" if label_column not in header else "repeated"
        raise InvalidInputError(
            f"dataset '{source}': label column '{label_column}' is {found} in header {header}; "
            "set label_column to the one column holding the labels"
        )
    if len(header) < 2:
        raise InvalidInputError(f"dataset '{source}': no feature columns; add numeric features")
    label_at = header.index(label_column)
    feature_at = [i for i in range(len(header)) if i != label_at]
    features = [columns[i] for i in feature_at]
    n_rows = len(columns[label_at])
    if all(col.dtype == np.float64 for col in features):
        x = np.stack(features, axis=1)
    else:
        x = np.stack([col.astype(str) for col in features], axis=1).reshape(n_rows, len(features))
    return LabeledData(
        source=source,
        x=x,
        y=columns[label_at],
        feature_names=tuple(header[i] for i in feature_at),
    )
