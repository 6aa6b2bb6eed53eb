"""Keras 3 classifiers saved in the native ``.keras`` format (loaded with ``safe_mode``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.model_import.formats import ModelFormat

__all__ = ["FORMAT"]


def _recognises(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".keras"


def _load(path: Path) -> tuple[Any, Any, tuple[int, ...]]:
    import keras

    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as e:  # noqa: BLE001 - every load failure means an unusable model
        detail = " ".join(f"{type(e).__name__}: {e}".split())[:300]
        raise InvalidInputError(
            f"model '{path}': cannot be loaded with safe_mode ({detail}); save it with "
            "model.save('model.keras') and no Lambda layers or custom code"
        ) from e
    inputs = model.inputs if isinstance(model.inputs, list) else []
    if len(inputs) != 1 or len(model.outputs) != 1:
        raise InvalidInputError(
            f"model '{path}': has {len(inputs)} inputs and {len(model.outputs)} outputs; "
            "a classifier needs exactly one of each"
        )
    shape = tuple(inputs[0].shape[1:])
    if any(d is None for d in shape):
        raise InvalidInputError(
            f"model '{path}': input shape {tuple(inputs[0].shape)}; every dimension but the "
            "batch must be fixed"
        )

    def scores(x: Any) -> Any:
        return model(x, training=False)

    return scores, model, tuple(int(d) for d in shape)


FORMAT = ModelFormat(
    name="keras",
    description="a Keras 3 classifier saved as a .keras file",
    recognises=_recognises,
    load=_load,
)
