"""The two model shapes we train: a small CNN for image splits and an MLP for tabular splits.

Both end in a separate ``Softmax`` layer named ``probabilities`` after a ``Dense`` layer named
``logits``: serving returns probabilities, and attacks can strip the softmax to get logits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import TrainingError

LOGITS_LAYER = "logits"
PROBABILITIES_LAYER = C.SERVING_OUTPUT_NAME
CNN = "cnn"
MLP = "mlp"


def architecture_for(x: np.ndarray) -> str:
    """Return ``cnn`` for image batches (N, H, W, C) and ``mlp`` for tabular batches (N, F)."""
    return CNN if x.ndim == 4 else MLP


def build_model(*, x_train: np.ndarray, n_classes: int, lower: float, upper: float) -> Any:
    """Build the uncompiled Keras model for ``x_train``'s shape (TensorFlow is imported here)."""
    import keras

    layers = keras.layers
    inputs = keras.Input(shape=x_train.shape[1:], name=C.SERVING_INPUT_NAME, dtype="float32")
    if architecture_for(x_train) == CNN:
        # Map the split's valid range onto [0, 1] inside the model, so serving takes raw inputs.
        scale = 1.0 / (upper - lower)
        h = layers.Rescaling(scale, offset=-lower * scale, name="rescale")(inputs)
        h = layers.Conv2D(32, 3, padding="same", activation="relu", kernel_initializer="he_normal")(
            h
        )
        h = layers.Conv2D(64, 3, padding="same", activation="relu", kernel_initializer="he_normal")(
            h
        )
        h = layers.MaxPooling2D(2, padding="same")(h)
        h = layers.Flatten()(h)
        h = layers.Dense(128, activation="relu", kernel_initializer="he_normal")(h)
    else:
        norm = layers.Normalization(name="standardize")
        norm.adapt(x_train)
        if not all(np.isfinite(np.asarray(w)).all() for w in norm.get_weights()):
            raise TrainingError(
                "feature mean or variance is non-finite in float32; "
                "rescale the features (values near 3e38 overflow)"
            )
        h = norm(inputs)
        h = layers.Dense(64, activation="relu", kernel_initializer="he_normal")(h)
        h = layers.Dense(64, activation="relu", kernel_initializer="he_normal")(h)
    logits = layers.Dense(n_classes, name=LOGITS_LAYER)(h)
    outputs = layers.Softmax(name=PROBABILITIES_LAYER)(logits)
    return keras.Model(inputs, outputs, name=f"kfp_mlsecops_{architecture_for(x_train)}")
