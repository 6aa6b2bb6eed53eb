"""Model formats a user brings, by name: ``keras`` (a ``.keras`` file), ``savedmodel`` (a folder).

Each format is one module defining ``FORMAT`` (a :class:`ModelFormat`): how a path is
recognised and how the model is loaded safely and written as the one servable SavedModel
(:mod:`kfp_mlsecops.servable`) with a ``serving_default`` signature taking ``inputs``. Modules
are imported on first use (they import TensorFlow), so listing names loads nothing heavy.

Adding a format (another framework): write one module defining ``FORMAT`` and add one line to
``_FORMATS`` below (or call :func:`register_model_format` from outside the package).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfp_mlsecops._registry import LazyRegistry
from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "ModelFormat",
    "detect_model_format",
    "get_model_format",
    "model_format_names",
    "register_model_format",
]


@dataclass(frozen=True)
class ModelFormat:
    """A model format: its name, how a path is recognised, and how it becomes servable.

    ``load(path)`` returns a callable mapping a float32 batch tensor to class scores
    (differentiable, usable inside ``tf.function``) plus the objects whose variables it uses;
    it raises InvalidInputError with a one-line message naming ``path``.
    """

    name: str
    #: What a user passes, for messages and ``--help``.
    description: str
    recognises: Callable[[Path], bool]
    load: Callable[[Path], tuple[Callable[[Any], Any], Any, tuple[int, ...]]]


_FORMATS: LazyRegistry[ModelFormat] = LazyRegistry(
    "model format",
    ModelFormat,
    "FORMAT",
    {
        "keras": "kfp_mlsecops.model_import.keras_file",
        "savedmodel": "kfp_mlsecops.model_import.savedmodel",
    },
)


def model_format_names() -> tuple[str, ...]:
    """Return every model format name without importing any format module."""
    return _FORMATS.names()


def get_model_format(name: object) -> ModelFormat:
    """Return the format called ``name``; InvalidInputError if unknown."""
    return _FORMATS.get(name)


def register_model_format(fmt: ModelFormat) -> None:
    """Add a model format under a new name (InvalidInputError otherwise)."""
    _FORMATS.add(getattr(fmt, "name", ""), fmt)


def detect_model_format(path: Path) -> ModelFormat:
    """Return the format that recognises ``path``; InvalidInputError naming the kinds if none."""
    formats = _FORMATS.all()
    for fmt in formats:
        if fmt.recognises(path):
            return fmt
    kinds = "; ".join(fmt.description for fmt in formats)
    raise InvalidInputError(f"model '{path}': not a model this package reads; pass {kinds}")
