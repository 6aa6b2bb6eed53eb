"""TensorFlow SavedModels with a ``serving_default`` signature (one float input, class scores).

The folder holds ``saved_model.pb``, or is a TF Serving model folder with exactly one numbered
version holding it. The signature's graph is checked before use: operations that touch files or
run Python are refused (:data:`kfp_mlsecops.servable.savedmodel.UNSAFE_OPS`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.model_import.formats import ModelFormat

__all__ = ["FORMAT"]


_PB = "saved_model.pb"


def _versions(path: Path) -> list[Path]:
    return sorted(
        (p for p in path.iterdir() if p.name.isdigit() and (p / _PB).is_file()),
        key=lambda p: int(p.name),
    )


def _recognises(path: Path) -> bool:
    return path.is_dir() and ((path / _PB).is_file() or bool(_versions(path)))


def _load(path: Path) -> tuple[Any, Any, tuple[int, ...]]:
    from kfp_mlsecops.servable.savedmodel import SavedModelClassifier

    if not (path / _PB).is_file():
        versions = _versions(path)
        if len(versions) != 1:
            names = ", ".join(v.name for v in versions)
            raise InvalidInputError(
                f"model '{path}': holds SavedModel versions {names}; pass the one version "
                "folder to release (TF Serving would serve the highest)"
            )
        path = versions[0]
    classifier = SavedModelClassifier(path)

    def scores(x: Any) -> Any:
        return classifier(x)

    return scores, classifier.tracked, classifier.input_shape


FORMAT = ModelFormat(
    name="savedmodel",
    description="a TensorFlow SavedModel folder with a serving_default signature",
    recognises=_recognises,
    load=_load,
)
