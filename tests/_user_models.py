"""A classifier trained outside this package, as a user brings one (shared by several suites)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def train_user_cnn(root: Path) -> tuple[object, np.ndarray, np.ndarray]:
    """Train a small digits CNN with plain Keras (logits out) and hold out data it never saw.

    Writes ``root/eval.npz`` (the held-out 397 samples, values 0..1) and returns the Keras model
    and the held-out ``x, y``; the caller saves or exports the model in the form it needs.
    """
    import keras
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[..., None]
    y = bunch.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    train, held_out = order[:1400], order[1400:]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.003),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(x[train], y[train], epochs=15, batch_size=64, verbose=0)
    np.savez(root / "eval.npz", x=x[held_out], y=y[held_out])
    return model, x[held_out], y[held_out]
