from __future__ import annotations

import shutil
from pathlib import Path

import _safety_artifacts as A
import numpy as np
import pytest
from sklearn.datasets import load_digits

from kfp_mlsecops.data.split_io import Split, save_split


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real output of train_model (1 epoch on 8x8 digits): SavedModel ``1/``, provenance."""
    from kfp_mlsecops.training import train_model

    folder = tmp_path_factory.mktemp("safety-train")
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32).reshape(-1, 8, 8, 1)
    y = digits.target.astype(np.int64)
    train = save_split(folder / "train.npz", Split(x[:1400], y[:1400], 0.0, 1.0, 10))
    test = save_split(folder / "test.npz", Split(x[1400:], y[1400:], 0.0, 1.0, 10))
    model_dir = folder / "model"
    train_model(train_path=train, test_path=test, model_dir=model_dir, epochs=1, seed=0)
    return model_dir


@pytest.fixture
def model_copy(tmp_path: Path, trained_model: Path) -> Path:
    """A private copy of the trained model to plant artifacts in."""
    return Path(shutil.copytree(trained_model, tmp_path / "model"))


@pytest.fixture(scope="session")
def savedmodels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("savedmodels")
    return {
        "pyfunc": A.pyfunc_savedmodel(folder / "pyfunc"),
        "file_io": A.file_io_savedmodel(folder / "file_io"),
        "checkpoint_write": A.checkpoint_write_savedmodel(folder / "checkpoint_write"),
    }


@pytest.fixture(scope="session")
def clean_keras(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean native .keras archive (a small functional model) to plant edits in."""
    import keras

    inputs = keras.Input((8, 8, 1))
    hidden = keras.layers.Flatten()(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(hidden)
    path = tmp_path_factory.mktemp("clean-keras") / "clean.keras"
    keras.Model(inputs, outputs).save(path)
    return path


@pytest.fixture(scope="session")
def lambda_keras(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return A.lambda_keras(tmp_path_factory.mktemp("lambda") / "lambda.keras")
