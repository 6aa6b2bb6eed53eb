from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.training import load_model


@pytest.mark.parametrize("name", ["model.h5", "model.pkl", "saved_model.pb", "model"])
def test_refuses_formats_other_than_keras(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(InvalidInputError, match="only the native .keras format"):
        load_model(path)


def test_directory_without_keras_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=f"no {C.KERAS_FILE}"):
        load_model(tmp_path)


def test_missing_keras_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="file not found"):
        load_model(tmp_path / "absent.keras")


def test_corrupt_keras_file_is_wrapped(tmp_path: Path) -> None:
    path = tmp_path / "broken.keras"
    path.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(InvalidInputError, match="cannot be loaded with safe_mode") as info:
        load_model(path)
    assert "\n" not in str(info.value)
    assert info.value.__cause__ is not None


def test_lambda_layer_is_refused_by_safe_mode(tmp_path: Path) -> None:
    import keras

    inputs = keras.Input((3,))
    outputs = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(InvalidInputError, match="safe_mode"):
        load_model(path)


def test_importing_the_cores_does_not_import_tensorflow() -> None:
    code = (
        "import sys, kfp_mlsecops.training, kfp_mlsecops.attacks; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
