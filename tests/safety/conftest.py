from __future__ import annotations

import shutil
from pathlib import Path

import _safety_artifacts as A
import pytest


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
