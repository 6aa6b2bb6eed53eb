"""Load a labelled dataset from a named source: sklearn's bundled digits, or a file or folder.

Files and folders are read by the format modules in :mod:`kfp_mlsecops.data.formats` (NPZ, CSV,
Parquet, image folders), chosen by name or recognised by suffix / folder. Loading only parses
the container: content problems stay in the raw arrays for :mod:`kfp_mlsecops.data.checks`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kfp_mlsecops.data.formats import (
    DataFormat,
    all_formats,
    detect_format,
    format_names,
    get_format,
)
from kfp_mlsecops.data.labeled import LabeledData
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["DIGITS_SOURCE", "LabeledData", "how_to_pass", "load_dataset"]

#: The built-in source name: scikit-learn's bundled 8x8 digits (no download).
DIGITS_SOURCE = "digits"


def how_to_pass() -> str:
    """Return what a user may pass as a dataset, from the registered formats (for messages)."""
    kinds = [fmt.description for fmt in all_formats()]
    return f"pass '{DIGITS_SOURCE}', " + ", ".join(kinds[:-1]) + f" or {kinds[-1]}"


def load_dataset(
    source: str, *, label_column: str = "label", data_format: str | None = None
) -> LabeledData:
    """Load ``source`` (``'digits'``, a file or a folder); raise InvalidInputError if unusable.

    ``data_format`` (a name from :func:`~kfp_mlsecops.data.formats.format_names`) overrides the
    recognition by suffix or folder, for KFP artifact paths that have no suffix.
    """
    if not isinstance(source, str) or not source.strip():
        raise InvalidInputError(f"dataset {source!r}: empty source; {how_to_pass()}")
    if source == DIGITS_SOURCE:
        return _load_digits()
    path = Path(source)
    if not path.exists():
        raise InvalidInputError(f"dataset '{source}': no such file or folder; {how_to_pass()}")
    fmt = _format_of(source, path, data_format)
    if fmt.is_folder and (path.is_symlink() or not path.is_dir()):
        raise InvalidInputError(
            f"dataset '{source}': not a folder, but format '{fmt.name}' is; {how_to_pass()}"
        )
    if not fmt.is_folder and not path.is_file():
        raise InvalidInputError(
            f"dataset '{source}': not a regular file, but format '{fmt.name}' is; {how_to_pass()}"
        )
    return fmt.read(source, path, label_column)


def _format_of(source: str, path: Path, data_format: str | None) -> DataFormat:
    if data_format:
        return get_format(data_format.lower() if isinstance(data_format, str) else data_format)
    fmt = detect_format(path)
    if fmt is None:
        kind = "folder" if path.is_dir() else f"suffix '{path.suffix.lower()}'"
        raise InvalidInputError(
            f"dataset '{source}': unsupported format ({kind}); {how_to_pass()}, "
            f"or name the format ({', '.join(format_names())})"
        )
    return fmt


def _load_digits() -> LabeledData:
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise InvalidInputError(
            f"dataset '{DIGITS_SOURCE}': scikit-learn is not installed; "
            "install kfp-mlsecops[runtime] or pass a dataset file"
        ) from e
    bunch = load_digits()
    x = (np.asarray(bunch.images, dtype=np.float32) / np.float32(16.0))[..., np.newaxis]
    y = np.asarray(bunch.target, dtype=np.int64)
    return LabeledData(source=DIGITS_SOURCE, x=x, y=y)
