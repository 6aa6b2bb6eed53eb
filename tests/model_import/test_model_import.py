"""Models trained elsewhere: a user's Keras file or SavedModel becomes the one servable SavedModel.

Real TensorFlow/Keras models, saved the way users save them; the import is checked by loading
the result the way attack-test, the gate and the predictor do (load_servable).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.data import run_validate_data
from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.model_import import import_model
from kfp_mlsecops.servable import check_layout, load_servable

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    run_validate_data(
        source="digits",
        train_path=out / "train.npz",
        test_path=out / "test.npz",
        report_json_path=out / "r.json",
        report_md_path=out / "r.md",
        manifest_path=out / "m.json",
        evaluation_only=True,
    )
    return out / "test.npz"


def _keras(activation: str | None, shape=(8, 8, 1), classes: int = 10):
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Flatten(),
            keras.layers.Dense(classes, activation=activation),
        ]
    )


def _x(split: Path) -> np.ndarray:
    return np.load(split)["x"][:32]


@pytest.mark.parametrize(("activation", "kind"), [("softmax", "probabilities"), (None, "logits")])
def test_a_keras_file_is_served_as_the_same_function(tmp_path, split, activation, kind):
    model = _keras(activation)
    model.save(tmp_path / "user.keras")
    result = import_model(
        source=tmp_path / "user.keras", model_dir=tmp_path / "model", test_path=split
    )
    assert (result.model_format, result.output_kind, result.n_classes) == ("keras", kind, 10)
    check_layout(tmp_path / "model")
    names = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert names == [C.SAVEDMODEL_VERSION_DIR, C.PROVENANCE_FILE]
    provenance = json.loads((tmp_path / "model" / C.PROVENANCE_FILE).read_text())
    assert provenance["imported"]["format"] == "keras"
    assert list(provenance["imported"]["files_sha256"]) == ["user.keras"]
    assert provenance["input_range"] == {"lower": 0.0, "upper": 1.0}
    assert provenance["serving"]["output"] == kind
    served = load_servable(tmp_path / "model")
    assert served.output_name == kind
    want = np.asarray(model(_x(split)))
    np.testing.assert_allclose(served.predict(_x(split)), want, atol=1e-5)


def _savedmodel(path: Path, *, input_name="pixels", output_name="scores", unsafe=False):
    """A plain tf.Module SavedModel with its own input/output names (not exported by Keras)."""
    import tensorflow as tf

    module = tf.Module()
    module.w = tf.Variable(np.random.default_rng(0).normal(size=(64, 10)).astype(np.float32))
    spec = tf.TensorSpec((None, 8, 8, 1), tf.float32, name=input_name)

    @tf.function(input_signature=[spec])
    def serve(x):
        flat = tf.reshape(x, (-1, 64))
        if unsafe:
            flat = tf.py_function(lambda t: t, [flat], tf.float32)
            flat.set_shape((None, 64))
        return {output_name: tf.matmul(flat, module.w)}

    tf.saved_model.save(module, str(path), signatures={"serving_default": serve})
    return module


def test_a_savedmodel_is_re_exported_under_the_serving_names(tmp_path, split):
    module = _savedmodel(tmp_path / "user")
    result = import_model(source=tmp_path / "user", model_dir=tmp_path / "model", test_path=split)
    assert (result.model_format, result.output_kind) == ("savedmodel", "logits")
    served = load_servable(tmp_path / "model")
    want = np.reshape(_x(split), (-1, 64)) @ module.w.numpy()
    np.testing.assert_allclose(served.predict(_x(split)), want, atol=1e-4)


def test_a_tf_serving_folder_with_one_version_is_read_and_two_are_refused(tmp_path, split):
    _savedmodel(tmp_path / "serving" / "3")
    import_model(source=tmp_path / "serving", model_dir=tmp_path / "model", test_path=split)
    _savedmodel(tmp_path / "serving" / "4")
    with pytest.raises(InvalidInputError, match=r"holds SavedModel versions 3, 4; pass the one"):
        import_model(source=tmp_path / "serving", model_dir=tmp_path / "m2", test_path=split)


def test_a_savedmodel_that_runs_python_is_refused(tmp_path, split):
    _savedmodel(tmp_path / "user", unsafe=True)
    with pytest.raises(InvalidInputError, match=r"runs EagerPyFunc.*refusing to load it"):
        import_model(source=tmp_path / "user", model_dir=tmp_path / "model", test_path=split)
    assert not (tmp_path / "model").exists()


def test_a_keras_lambda_layer_is_refused_by_safe_mode(tmp_path, split):
    import keras

    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Lambda(lambda t: t * 2), keras.layers.Flatten(),
         keras.layers.Dense(10)]
    )  # fmt: skip
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(InvalidInputError, match=r"cannot be loaded with safe_mode"):
        import_model(
            source=tmp_path / "lambda.keras", model_dir=tmp_path / "model", test_path=split
        )


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (lambda: _keras("softmax", shape=(64,)), r"takes inputs shaped \(64,\) but the data's"),
        (lambda: _keras(None, classes=1), r"outputs shape \(64, 1\); a classifier returns one"),
        (lambda: _keras(None, classes=5), r"scores 5 classes but the data has labels up to 9"),
    ],
)
def test_a_model_that_does_not_fit_the_data_is_refused_and_nothing_is_replaced(
    tmp_path, split, model, message
):
    model().save(tmp_path / "user.keras")
    target = tmp_path / "model"
    target.mkdir()
    (target / "keep").write_text("previous")
    with pytest.raises(InvalidInputError, match=message):
        import_model(source=tmp_path / "user.keras", model_dir=target, test_path=split)
    assert [p.name for p in target.iterdir()] == ["keep"]


def test_paths_and_formats_that_are_not_models_are_named(tmp_path, split):
    (tmp_path / "weights.h5").write_bytes(b"\x89HDF")
    with pytest.raises(InvalidInputError, match=r"not a model this package reads; pass a Keras"):
        import_model(source=tmp_path / "weights.h5", model_dir=tmp_path / "m", test_path=split)
    with pytest.raises(InvalidInputError, match=r"no such file or folder"):
        import_model(source=tmp_path / "nope.keras", model_dir=tmp_path / "m", test_path=split)
    _keras("softmax").save(tmp_path / "user.keras")
    os.symlink(tmp_path / "user.keras", tmp_path / "link.keras")
    with pytest.raises(InvalidInputError, match=r"is a symlink"):
        import_model(source=tmp_path / "link.keras", model_dir=tmp_path / "m", test_path=split)
    with pytest.raises(InvalidInputError, match=r"not a TensorFlow SavedModel folder"):
        import_model(
            source=tmp_path / "user.keras",
            model_dir=tmp_path / "m",
            test_path=split,
            model_format="savedmodel",
        )
    with pytest.raises(InvalidInputError, match=r"model format 'onnx' is unknown"):
        import_model(
            source=tmp_path / "user.keras", model_dir=tmp_path / "m", test_path=split,
            model_format="onnx",
        )  # fmt: skip


def test_the_layout_check_still_guards_the_result(tmp_path, split):
    _keras("softmax").save(tmp_path / "user.keras")
    import_model(source=tmp_path / "user.keras", model_dir=tmp_path / "model", test_path=split)
    (tmp_path / "model" / "2").mkdir()
    with pytest.raises(VerificationError, match=r"'2/'"):
        load_servable(tmp_path / "model")


def test_the_verified_predictor_serves_probabilities_from_an_imported_logits_model(tmp_path, split):
    from kfp_mlsecops.serving.inference import load_for_serving

    model = _keras(None)
    model.save(tmp_path / "user.keras")
    import_model(source=tmp_path / "user.keras", model_dir=tmp_path / "model", test_path=split)
    loaded = load_for_serving(tmp_path / "model", threads=None)
    probabilities = loaded.predict(_x(split))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    logits = np.asarray(model(_x(split)))
    assert (probabilities.argmax(axis=1) == logits.argmax(axis=1)).all()
    assert (loaded.spec.lower, loaded.spec.upper, loaded.n_classes) == (0.0, 1.0, 10)
