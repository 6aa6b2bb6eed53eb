"""Write a model as the TF SavedModel KServe's TensorFlow runtime serves (``1/``), then check it.

Used by training (its Keras model) and by model import (a user's Keras model or SavedModel).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import TrainingError

__all__ = ["export_savedmodel"]

_MAX_EXPORT_DIFF = 1e-5


def export_savedmodel(
    model: Any,
    path: Path,
    *,
    probe: np.ndarray,
    scores: Callable[[Any], Any] | None = None,
    output_name: str = C.SERVING_OUTPUT_NAME,
) -> None:
    """Write ``model`` to ``path`` with one ``serving_default`` signature, then verify it.

    The signature takes one float32 input named ``inputs`` and returns ``output_name``
    (``probabilities``, or ``logits`` for a model that outputs them): ``scores(inputs)``, by
    default ``model(inputs, training=False)``. ``model`` is what holds the variables (a Keras
    model, or a loaded SavedModel). Empty folders the exporter leaves (``assets/``) are removed:
    they are outside every digest and the servable layout refuses them. The export is reloaded
    and run on ``probe``; a mismatch with the source raises TrainingError.
    """
    import keras
    import tensorflow as tf

    spec = tf.TensorSpec((None, *probe.shape[1:]), tf.float32, name=C.SERVING_INPUT_NAME)

    def source(inputs: Any) -> Any:
        return scores(inputs) if scores is not None else model(inputs, training=False)

    def serve(inputs: Any) -> dict[str, Any]:
        return {output_name: tf.cast(source(inputs), tf.float32)}

    try:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(name=C.SERVING_SIGNATURE, fn=serve, input_signature=[spec])
        archive.write_out(str(path), verbose=False)
        _remove_empty_folders(path)
        served = tf.saved_model.load(str(path)).signatures[C.SERVING_SIGNATURE]
        got = served(**{C.SERVING_INPUT_NAME: tf.constant(probe)})[output_name].numpy()
        want = np.asarray(source(tf.constant(probe)), dtype=np.float32)
    except Exception as e:  # noqa: BLE001 - any export failure means no servable model
        raise TrainingError(
            f"model export to '{path}': {type(e).__name__}: {e}".splitlines()[0]
            + "; check the model and free disk space"
        ) from e
    diff = float(np.max(np.abs(got - want))) if probe.size else 0.0
    if not diff <= _MAX_EXPORT_DIFF:
        raise TrainingError(
            f"model export to '{path}': SavedModel output differs from the source model by "
            f"{diff:.3g} (> {_MAX_EXPORT_DIFF}); do not serve this export"
        )


def _remove_empty_folders(root: Path) -> None:
    """Delete every empty folder under ``root`` (deepest first)."""
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
