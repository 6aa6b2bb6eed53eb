"""Models trained elsewhere, written as the one servable SavedModel and checked on evaluation data.

A user's Keras or SavedModel classifier is loaded safely and written in the layout of
:mod:`kfp_mlsecops.servable`. The public entry point is :func:`import_model`; formats live one
module each behind the registry in :mod:`kfp_mlsecops.model_import.formats`. Nothing here
imports TensorFlow until a model is loaded.
"""

from __future__ import annotations

from kfp_mlsecops.model_import.formats import (
    ModelFormat,
    detect_model_format,
    get_model_format,
    model_format_names,
)
from kfp_mlsecops.model_import.run import OUTPUT_KINDS, ImportResult, import_model

__all__ = [
    "OUTPUT_KINDS",
    "ImportResult",
    "ModelFormat",
    "detect_model_format",
    "get_model_format",
    "import_model",
    "model_format_names",
]
