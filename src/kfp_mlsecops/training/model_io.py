"""Load a trained model safely: only the native ``.keras`` format, always with ``safe_mode``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["load_model", "resolve_keras_file"]


def resolve_keras_file(path: str | os.PathLike[str]) -> Path:
    """Return the ``.keras`` file of a model directory or ``.keras`` path; refuse anything else."""
    source = Path(path)
    if source.is_dir():
        source = source / C.KERAS_FILE
        if not source.is_file():
            raise InvalidInputError(
                f"model '{path}': no {C.KERAS_FILE} in the directory; "
                "pass the output of train_model"
            )
        return source
    if source.suffix != ".keras":
        raise InvalidInputError(
            f"model '{path}': only the native .keras format is loaded (pickle, .h5 and SavedModel "
            "can run code or skip safe_mode); pass a model directory or a .keras file"
        )
    if not source.is_file():
        raise InvalidInputError(f"model '{path}': file not found; pass the output of train_model")
    return source


def load_model(path: str | os.PathLike[str]) -> Any:
    """Load a Keras model from a model directory (its ``model.keras``) or a ``.keras`` file.

    Loads with ``safe_mode=True`` (no Lambda layers or arbitrary code) and without compiling;
    any failure raises InvalidInputError naming the file.
    """
    keras_file = resolve_keras_file(path)
    import keras

    try:
        return keras.saving.load_model(keras_file, safe_mode=True, compile=False)
    except Exception as e:  # noqa: BLE001 - every load failure means an unusable model
        detail = f"{type(e).__name__}: {e}".splitlines()[0][:300]
        raise InvalidInputError(
            f"model '{keras_file}': cannot be loaded with safe_mode ({detail}); "
            "retrain it with train_model"
        ) from e
