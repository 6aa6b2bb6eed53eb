"""Load a model to attack: a model folder, a ``.keras`` file, or a SavedModel folder.

A model folder is attacked through exactly what is served: the layout is checked and the
SavedModel ``1/`` loaded (:func:`kfp_mlsecops.servable.load_servable`). ``.keras`` files load
with ``safe_mode`` (no Lambda layers). A SavedModel's serving signature is wrapped so attacks can
differentiate through it; its graph is refused when it holds operations that touch files or run
Python (a SavedModel is a program: load only models you trust).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.servable import SavedModelClassifier, load_servable

__all__ = ["SavedModelClassifier", "load_attack_model", "load_model_for_split"]


def load_attack_model(path: str | os.PathLike[str]) -> Any:
    """Return a model the attacks can wrap with ``TFModel``.

    ``path`` is a model folder written by ``train_model`` (servable layout, its SavedModel ``1/``
    is used), a ``.keras`` file, or a SavedModel folder (``saved_model.pb``; e.g. ``<model>/1/``)
    whose ``serving_default`` signature takes one float input and returns one score vector
    (logits or probabilities). Anything else raises InvalidInputError (VerificationError for a
    model folder whose layout holds something a runtime could load instead).
    """
    source = Path(path)
    if source.is_dir():
        if (source / C.SAVEDMODEL_VERSION_DIR).is_dir():
            return load_servable(source)
        if (source / "saved_model.pb").is_file():
            return SavedModelClassifier(source)
        raise InvalidInputError(
            f"model '{path}': folder has neither '{C.SAVEDMODEL_VERSION_DIR}/' nor saved_model.pb; "
            "pass a model folder, a .keras file or a SavedModel folder"
        )
    if source.suffix == ".keras":
        from kfp_mlsecops.training.model_io import load_model

        return load_model(source)
    raise InvalidInputError(
        f"model '{path}': not a .keras file or a folder; pass a model folder, a .keras file or a "
        "SavedModel folder (pickle and .h5 are refused: they can run code on load)"
    )


def load_model_for_split(
    path: str | os.PathLike[str], x: Any, split_path: str | os.PathLike[str], *, fix: str
) -> Any:
    """Load a model as :func:`load_attack_model` does and check it takes the split's samples.

    Args:
        path: the model (a model folder, a ``.keras`` file or a SavedModel folder).
        x: the split's samples, shaped ``(N, *sample_shape)``.
        split_path: the split file, named in the error.
        fix: what to do when the shapes differ, e.g. ``pass the model trained on this split``.

    Raises InvalidInputError when the model has no fixed input shape or it is not the samples'.

    """
    model = load_attack_model(path)
    try:
        shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    except (AttributeError, IndexError, TypeError) as e:
        raise InvalidInputError(
            f"model '{path}': needs one input with a fixed shape; build it with keras.Input"
        ) from e
    if shape != tuple(x.shape[1:]):
        raise InvalidInputError(
            f"model '{path}' takes {shape} but the split '{split_path}' has "
            f"{tuple(x.shape[1:])}; {fix}"
        )
    return model
