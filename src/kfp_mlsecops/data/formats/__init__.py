"""Dataset formats by name: ``npz``, ``csv``, ``parquet``, ``images``, and any registered later.

Each format is one module defining ``FORMAT`` (a :class:`DataFormat`): how a path is recognised
(file suffixes, or a folder) and how it is read into
:class:`~kfp_mlsecops.data.labeled.LabeledData`.
A format only parses its container; content problems (NaN, bad labels, text in a numeric column)
stay in the arrays for :mod:`kfp_mlsecops.data.checks` to report. Modules are imported on first
use, so listing names (``mlsecops validate --help``) loads no parser.

Adding a format: write one module defining ``FORMAT`` and add one line to ``_FORMATS`` below (or
call :func:`register_format` from outside the package).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kfp_mlsecops._registry import LazyRegistry
from kfp_mlsecops.data.labeled import LabeledData
from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "DataFormat",
    "all_formats",
    "detect_format",
    "format_names",
    "get_format",
    "register_format",
]


@dataclass(frozen=True)
class DataFormat:
    """A dataset format: its name, how a path is recognised, and its reader.

    ``read(source, path, label_column)`` returns the raw data or raises InvalidInputError with a
    one-line message that names ``source`` and says what to do.
    """

    name: str
    #: File suffixes (lower case, with the dot) that select this format; empty for folders.
    suffixes: tuple[str, ...]
    #: True when a dataset of this format is a folder, not a file.
    is_folder: bool
    #: What a user passes, for messages and ``--help`` ("a .csv table with a header row").
    description: str
    read: Callable[[str, Path, str], LabeledData]


_FORMATS: LazyRegistry[DataFormat] = LazyRegistry(
    "dataset format",
    DataFormat,
    "FORMAT",
    {
        "npz": "kfp_mlsecops.data.formats.npz",
        "csv": "kfp_mlsecops.data.formats.csv_table",
        "parquet": "kfp_mlsecops.data.formats.parquet_table",
        "images": "kfp_mlsecops.data.formats.image_folder",
    },
)


def format_names() -> tuple[str, ...]:
    """Return every format name, built-ins first, without importing any format module."""
    return _FORMATS.names()


def get_format(name: object) -> DataFormat:
    """Return the format called ``name``; InvalidInputError if unknown."""
    return _FORMATS.get(name)


def all_formats() -> tuple[DataFormat, ...]:
    """Return every registered format, in :func:`format_names` order."""
    return _FORMATS.all()


def detect_format(path: Path) -> DataFormat | None:
    """Return the format a path's kind (folder) or suffix selects, or None."""
    is_folder = path.is_dir()
    suffix = path.suffix.lower()
    for fmt in all_formats():
        if fmt.is_folder == is_folder and (is_folder or suffix in fmt.suffixes):
            return fmt
    return None


def register_format(fmt: DataFormat) -> None:
    """Add a format; its name and suffixes must be new (InvalidInputError otherwise)."""
    if isinstance(fmt, DataFormat) and fmt.name not in _FORMATS.names():
        taken = {s for known in all_formats() for s in known.suffixes} & set(fmt.suffixes)
        if taken:
            raise InvalidInputError(
                f"dataset format {fmt.name!r}: suffixes {sorted(taken)} already belong to "
                "another format"
            )
        if fmt.is_folder and any(known.is_folder for known in all_formats()):
            raise InvalidInputError(
                f"dataset format {fmt.name!r}: a folder format is already registered; "
                "select it by name instead"
            )
    _FORMATS.add(getattr(fmt, "name", ""), fmt)
