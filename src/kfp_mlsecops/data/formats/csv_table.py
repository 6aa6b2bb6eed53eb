"""CSV tables: a header row, one label column, numeric feature columns (UTF-8)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from kfp_mlsecops.data.formats import DataFormat
from kfp_mlsecops.data.formats._columns import table_to_data
from kfp_mlsecops.data.labeled import LabeledData
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["FORMAT"]


def _parse_column(cells: list[str]) -> np.ndarray:
    """Parse cells as float64 (empty cell -> NaN); keep them as text if any cell is not a number."""
    try:
        return np.array([float(c) if c.strip() else np.nan for c in cells], dtype=np.float64)
    except ValueError:
        return np.array(cells, dtype=str)


def _read(source: str, path: Path, label_column: str) -> LabeledData:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InvalidInputError(
            f"dataset '{source}': not a readable UTF-8 CSV ({type(e).__name__}); "
            "save it as UTF-8 with a header row"
        ) from e
    if not rows:
        raise InvalidInputError(f"dataset '{source}': empty file; add a header row and data rows")
    header = [name.strip() for name in rows[0]]
    body = rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise InvalidInputError(
                f"dataset '{source}': row {number} has {len(row)} fields but the header has "
                f"{len(header)}; fix that row"
            )
    columns = [_parse_column([row[i] for row in body]) for i in range(len(header))]
    return table_to_data(source, header, columns, label_column)


FORMAT = DataFormat(
    name="csv",
    suffixes=(".csv",),
    is_folder=False,
    description="a .csv table with a header row and a label column",
    read=_read,
)
