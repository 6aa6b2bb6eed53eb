"""Load a labelled dataset from a named source: sklearn's bundled digits, an NPZ or a CSV file.

Loading only parses the container. Content problems (NaN, mismatched lengths, bad labels, text in a
numeric column) are kept in the raw arrays so :mod:`kfp_mlsecops.data.checks` can report them as
findings instead of crashing here.
"""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["DIGITS_SOURCE", "LabeledData", "load_dataset"]

#: The built-in source name: scikit-learn's bundled 8x8 digits (no download).
DIGITS_SOURCE = "digits"

_HOW_TO = (
    f"pass '{DIGITS_SOURCE}', an .npz with numeric arrays 'x' and 'y', "
    "or a .csv with a header row and a label column"
)


@dataclass(frozen=True)
class LabeledData:
    """Raw features ``x`` and labels ``y`` as read from ``source``, not yet validated.

    ``x`` is shaped (N, F) for tabular data or (N, H, W, C) for images; ``feature_names`` holds the
    CSV column names (``None`` for other sources).
    """

    source: str
    x: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...] | None = None


def load_dataset(
    source: str, *, label_column: str = "label", data_format: str | None = None
) -> LabeledData:
    """Load ``source`` (``'digits'``, ``*.npz``, ``*.csv``); raise InvalidInputError if unusable.

    ``data_format`` (``"npz"`` or ``"csv"``) overrides the file extension, for KFP artifact paths
    that have none.
    """
    if not isinstance(source, str) or not source.strip():
        raise InvalidInputError(f"dataset {source!r}: empty source; {_HOW_TO}")
    if source == DIGITS_SOURCE:
        return _load_digits()
    path = Path(source)
    suffix = f".{data_format.lower()}" if data_format else path.suffix.lower()
    if suffix not in (".npz", ".csv"):
        raise InvalidInputError(f"dataset '{source}': unsupported format '{suffix}'; {_HOW_TO}")
    if not path.exists():
        raise InvalidInputError(f"dataset '{source}': file not found; {_HOW_TO}")
    if not path.is_file():
        raise InvalidInputError(f"dataset '{source}': not a regular file; {_HOW_TO}")
    if suffix == ".npz":
        return _load_npz(source, path)
    if not isinstance(label_column, str) or not label_column.strip():
        raise InvalidInputError(f"dataset '{source}': label_column is empty; name the label column")
    return _load_csv(source, path, label_column.strip())


def _load_digits() -> LabeledData:
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise InvalidInputError(
            f"dataset '{DIGITS_SOURCE}': scikit-learn is not installed; "
            "install kfp-mlsecops[runtime] or pass an .npz/.csv file"
        ) from e
    bunch = load_digits()
    x = (np.asarray(bunch.images, dtype=np.float32) / np.float32(16.0))[..., np.newaxis]
    y = np.asarray(bunch.target, dtype=np.int64)
    return LabeledData(source=DIGITS_SOURCE, x=x, y=y)


def _npy_dtype(archive: zipfile.ZipFile, member: str) -> np.dtype:
    """Read only the header of one ``.npy`` member (never its payload, never a pickle)."""
    with archive.open(member) as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            _, _, dtype = np.lib.format.read_array_header_2_0(handle)
    return np.dtype(dtype)


def _load_npz(source: str, path: Path) -> LabeledData:
    names = (C.NPZ_X, C.NPZ_Y)
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            missing = [n for n in names if f"{n}.npy" not in members]
            if missing:
                raise InvalidInputError(
                    f"dataset '{source}': missing arrays {missing}; "
                    "save it with numpy.savez(path, x=features, y=labels)"
                )
            for name in names:
                if _npy_dtype(archive, f"{name}.npy").hasobject:
                    raise InvalidInputError(
                        f"dataset '{source}': array '{name}' is an object (pickled) array, "
                        "refused for safety; save plain numeric arrays"
                    )
        with np.load(path, allow_pickle=False) as npz:
            x = np.asarray(npz[C.NPZ_X])
            y = np.asarray(npz[C.NPZ_Y])
    except InvalidInputError:
        raise
    except Exception as e:  # noqa: BLE001 - any unreadable archive is the same user error
        raise InvalidInputError(
            f"dataset '{source}': not a readable NPZ archive ({type(e).__name__}); {_HOW_TO}"
        ) from e
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if x.ndim not in (2, 4):
        raise InvalidInputError(
            f"dataset '{source}': array 'x' has shape {x.shape}; "
            "expected (N, features), (N, H, W) or (N, H, W, C)"
        )
    return LabeledData(source=source, x=x, y=y)


def _parse_column(cells: list[str]) -> np.ndarray:
    """Parse cells as float64 (empty cell -> NaN); keep them as text if any cell is not a number."""
    try:
        return np.array([float(c) if c.strip() else np.nan for c in cells], dtype=np.float64)
    except ValueError:
        return np.array(cells, dtype=str)


def _load_csv(source: str, path: Path, label_column: str) -> LabeledData:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InvalidInputError(
            f"dataset '{source}': not a readable UTF-8 CSV ({type(e).__name__}); {_HOW_TO}"
        ) from e
    if not rows:
        raise InvalidInputError(f"dataset '{source}': empty file; add a header row and data rows")
    header = [name.strip() for name in rows[0]]
    if header.count(label_column) != 1:
        found = "missing" if label_column not in header else "repeated"
        raise InvalidInputError(
            f"dataset '{source}': label column '{label_column}' is {found} in header {header}; "
            "set label_column to the one column holding the labels"
        )
    if len(header) < 2:
        raise InvalidInputError(f"dataset '{source}': no feature columns; add numeric features")
    body = rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise InvalidInputError(
                f"dataset '{source}': row {number} has {len(row)} fields but the header has "
                f"{len(header)}; fix that row"
            )
    label_at = header.index(label_column)
    feature_at = [i for i in range(len(header)) if i != label_at]
    y = _parse_column([row[label_at] for row in body])
    columns = [_parse_column([row[i] for row in body]) for i in feature_at]
    if all(col.dtype == np.float64 for col in columns):
        x = np.stack(columns, axis=1)
    else:
        x = np.array([[row[i] for i in feature_at] for row in body], dtype=str).reshape(
            len(body), len(feature_at)
        )
    return LabeledData(source=source, x=x, y=y, feature_names=tuple(header[i] for i in feature_at))
