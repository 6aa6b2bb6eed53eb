from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def keras_cnn(digits_splits: tuple[Path, Path]) -> object:
    """The training CNN (softmax after a ``logits`` layer) as a Keras model, 3 epochs on digits.

    A model folder holds only the SavedModel; tests of Keras-only paths (softmax stripping,
    bfloat16 copies, logits sub-models) use this one.
    """
    import keras

    from kfp_mlsecops.training._architecture import build_model

    x, y = _digits_arrays(digits_splits[0])
    keras.utils.set_random_seed(0)
    model = build_model(x_train=x, n_classes=10, lower=0.0, upper=1.0)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    return model


def _digits_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from kfp_mlsecops.data.split_io import load_split

    split = load_split(path)
    return split.x, split.y


@pytest.fixture(scope="session")
def masked_model(digits_splits: tuple[Path, Path]) -> object:
    """A small CNN behind a quantizing input layer with no gradient: ``round(4x) / 4``.

    Its input gradient is exactly zero, so gradient attacks see nothing while the quantization
    itself hardly protects it: the textbook case of gradient masking.
    """
    import keras

    class Quantize(keras.layers.Layer):
        def call(self, x: object) -> object:
            return keras.ops.stop_gradient(keras.ops.round(x * 4.0) / 4.0)

    x, y = _digits_arrays(digits_splits[0])
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(Quantize()(inputs))
    h = keras.layers.Dense(10)(keras.layers.Flatten()(h))
    model = keras.Model(inputs, keras.layers.Softmax()(h))
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="session")
def pgd_trained_model(digits_splits: tuple[Path, Path]) -> object:
    """A small CNN adversarially trained with PGD (Madry) in a few lines of plain TF.

    L-inf eps 0.2, 5 steps of 0.1, 4 epochs: enough to be clearly more robust than the standard
    model. Returns the softmax-ending Keras model (logits layer named ``logits``).
    """
    import keras
    import tensorflow as tf

    x, y = _digits_arrays(digits_splits[0])
    keras.utils.set_random_seed(1)
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    h = keras.layers.Dense(64, activation="relu")(keras.layers.Flatten()(h))
    logits = keras.layers.Dense(10, name="logits")(h)
    body = keras.Model(inputs, logits)
    optimizer = keras.optimizers.Adam(2e-3)
    eps, steps, size = 0.2, 5, 0.1

    @tf.function
    def train_step(xb: tf.Tensor, yb: tf.Tensor) -> None:
        adv = tf.clip_by_value(xb + tf.random.uniform(tf.shape(xb), -eps, eps), 0.0, 1.0)
        for _ in range(steps):
            with tf.GradientTape() as tape:
                tape.watch(adv)
                loss = tf.nn.sparse_softmax_cross_entropy_with_logits(yb, body(adv))
            grad = tape.gradient(loss, adv)
            adv = tf.clip_by_value(adv + size * tf.sign(grad), xb - eps, xb + eps)
            adv = tf.clip_by_value(adv, 0.0, 1.0)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(yb, body(adv, training=True))
            )
        grads = tape.gradient(loss, body.trainable_variables)
        optimizer.apply_gradients(zip(grads, body.trainable_variables, strict=True))

    order = np.random.default_rng(1)
    for _ in range(4):
        perm = order.permutation(len(y))
        for start in range(0, len(y), 64):
            part = perm[start : start + 64]
            train_step(tf.constant(x[part]), tf.constant(y[part].astype(np.int32)))
    return keras.Model(inputs, keras.layers.Softmax()(logits))
