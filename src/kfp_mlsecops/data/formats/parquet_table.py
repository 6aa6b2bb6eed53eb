"""Parquet tables: one label column and numeric feature columns (read with pyarrow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kfp_mlsecops.data.formats import DataFormat
from kfp_mlsecops.data.formats._columns import table_to_data
from kfp_mlsecops.data.labeled import LabeledData
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["FORMAT"]


def _column(source: str, name: str, column: Any) -> np.ndarray:
    """Return a numeric column as float64 (null -> NaN), a text column as text; refuse others."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        return np.asarray(column.cast(pa.float64()).fill_null(np.nan), dtype=np.float64)
    if pa.types.is_decimal(kind):
        return np.asarray(column.cast(pa.float64()).fill_null(np.nan), dtype=np.float64)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        return np.asarray(column.cast(pa.string()).fill_null("").to_pylist(), dtype=str)
    raise InvalidInputError(
        f"dataset '{source}': column '{name}' has type {kind}; "
        "store one number per cell (flatten lists and structs into numeric columns)"
    )


def _read(source: str, path: Path, label_column: str) -> LabeledData:
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise InvalidInputError(
            f"dataset '{source}': pyarrow is not installed; install kfp-mlsecops[runtime]"
        ) from e
    try:
        table = pq.read_table(path)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise InvalidInputError(
            f"dataset '{source}': not a readable Parquet file ({type(e).__name__}); "
            "write it with pandas.DataFrame.to_parquet or pyarrow.parquet.write_table"
        ) from e
    header = [str(name).strip() for name in table.column_names]
    if not header:
        raise InvalidInputError(f"dataset '{source}': no columns; add a label and features")
    columns = [
        _column(source, name, table.column(i).combine_chunks()) for i, name in enumerate(header)
    ]
    return table_to_data(source, header, columns, label_column)


FORMAT = DataFormat(
    name="parquet",
    suffixes=(".parquet", ".pq"),
    is_folder=False,
    description="a .parquet table with a label column",
    read=_read,
)
