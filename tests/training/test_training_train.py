from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.data.split_io import Split, load_split, save_split
from kfp_mlsecops.errors import InvalidInputError, TrainingError
from kfp_mlsecops.servable import check_layout, load_servable
from kfp_mlsecops.training import (
    FeatureSqueezer,
    TrainResult,
    load_reference_stats,
    train_model,
)
from kfp_mlsecops.training.train import check_losses

EPOCHS = 3


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, digits_splits: tuple[Path, Path]
) -> tuple[TrainResult, Path]:
    train_path, test_path = digits_splits
    model_dir = tmp_path_factory.mktemp("train") / "model"
    result = train_model(
        train_path=train_path,
        test_path=test_path,
        model_dir=model_dir,
        epochs=EPOCHS,
        seed=0,
        data_digest="sha256:" + "ab" * 32,
    )
    return result, model_dir


def test_writes_the_servable_layout_and_nothing_else(trained: tuple[TrainResult, Path]) -> None:
    _, model_dir = trained
    assert (model_dir / C.SAVEDMODEL_VERSION_DIR / "saved_model.pb").is_file()
    assert (model_dir / C.SAVEDMODEL_VERSION_DIR / "variables").is_dir()
    assert (model_dir / C.PROVENANCE_FILE).is_file()
    # one loadable form only (no model.keras beside the SavedModel), and no empty folder
    assert sorted(p.name for p in model_dir.iterdir()) == sorted(
        [C.SAVEDMODEL_VERSION_DIR, C.PROVENANCE_FILE, C.REFERENCE_STATS_FILE]
    )
    assert all(any(d.iterdir()) for d in model_dir.rglob("*") if d.is_dir())
    check_layout(model_dir)
    # the staging folder was renamed into place, not left behind
    assert [p.name for p in model_dir.parent.iterdir()] == [model_dir.name]


def test_accuracy_metrics_and_confusion_matrix(
    trained: tuple[TrainResult, Path], digits_splits: tuple[Path, Path]
) -> None:
    result, _ = trained
    n_test = len(load_split(digits_splits[1]).y)
    assert result.accuracy >= 0.9
    assert math.isfinite(result.loss) and 0 < result.loss < 1
    matrix = np.array(result.confusion_matrix)
    assert matrix.shape == (10, 10)
    assert matrix.sum() == n_test
    assert np.trace(matrix) / n_test == pytest.approx(result.accuracy)
    assert result.labels == [str(i) for i in range(10)]


def test_provenance_records_data_parameters_and_versions(trained: tuple[TrainResult, Path]) -> None:
    result, model_dir = trained
    on_disk = json.loads((model_dir / C.PROVENANCE_FILE).read_text())
    assert on_disk == result.provenance
    assert on_disk["schema"] == C.PROVENANCE_SCHEMA
    assert on_disk[C.PROVENANCE_DATA_DIGEST] == "sha256:" + "ab" * 32
    assert on_disk["parameters"] == {
        "epochs": EPOCHS,
        "batch_size": 64,
        "learning_rate": 0.001,
        "seed": 0,
    }
    assert on_disk[C.PROVENANCE_ADVERSARIAL] == {"method": "none"}
    assert set(on_disk["libraries"]) == {"tensorflow", "keras", "numpy", "python"}
    assert on_disk["input_shape"] == [8, 8, 1]
    assert on_disk["n_classes"] == 10
    assert on_disk["input_range"] == {"lower": 0.0, "upper": 1.0}
    assert on_disk["architecture"] == "cnn"
    assert on_disk["metrics"]["accuracy"] == result.accuracy
    assert len(on_disk["splits_sha256"]["train"]) == 64


def test_the_servable_model_outputs_the_probabilities_training_scored(
    trained: tuple[TrainResult, Path], digits_splits: tuple[Path, Path]
) -> None:
    result, model_dir = trained
    test = load_split(digits_splits[1])
    probabilities = load_servable(model_dir).predict(test.x)
    assert probabilities.min() >= 0
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert np.mean(probabilities.argmax(axis=1) == test.y) == pytest.approx(result.accuracy)


def test_savedmodel_serving_signature_is_what_every_step_loads(
    trained: tuple[TrainResult, Path], digits_splits: tuple[Path, Path]
) -> None:
    import tensorflow as tf

    _, model_dir = trained
    x = load_split(digits_splits[1]).x[:16]
    signature = tf.saved_model.load(str(model_dir / C.SAVEDMODEL_VERSION_DIR)).signatures[
        C.SERVING_SIGNATURE
    ]
    _, named_inputs = signature.structured_input_signature
    assert list(named_inputs) == [C.SERVING_INPUT_NAME]
    served = signature(**{C.SERVING_INPUT_NAME: tf.constant(x)})[C.SERVING_OUTPUT_NAME].numpy()
    np.testing.assert_allclose(served, load_servable(model_dir).predict(x), atol=1e-6)


@pytest.mark.slow
def test_same_seed_same_model_and_existing_dir_is_replaced(
    trained: tuple[TrainResult, Path], digits_splits: tuple[Path, Path], tmp_path: Path
) -> None:
    first, _ = trained
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "stale.txt").write_text("old model")
    train_path, test_path = digits_splits
    again = train_model(
        train_path=train_path,
        test_path=test_path,
        model_dir=model_dir,
        epochs=EPOCHS,
        seed=0,
        data_digest="sha256:" + "ab" * 32,
    )
    assert again.accuracy == first.accuracy
    assert again.loss == first.loss
    assert again.confusion_matrix == first.confusion_matrix
    assert not (model_dir / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"epochs": 0}, "epochs=0"),
        ({"epochs": True}, "epochs=True"),
        ({"epochs": 2.5}, "epochs=2.5"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"learning_rate": 0.0}, "learning_rate=0.0"),
        ({"learning_rate": 1.0}, "learning_rate=1.0"),
        ({"learning_rate": float("nan")}, "learning_rate=nan"),
        ({"learning_rate": -0.1}, "learning_rate=-0.1"),
        ({"seed": -1}, "seed=-1"),
    ],
)
def test_bad_parameters_are_refused_before_anything_is_written(
    override: dict[str, object], fragment: str, tmp_path: Path
) -> None:
    kwargs: dict[str, object] = {
        "train_path": tmp_path / "missing-train.npz",
        "test_path": tmp_path / "missing-test.npz",
        "model_dir": tmp_path / "model",
    }
    kwargs.update(override)
    with pytest.raises(InvalidInputError, match="^" + fragment.replace(".", r"\.")) as info:
        train_model(**kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_missing_split_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="file not found"):
        train_model(
            train_path=tmp_path / "a.npz", test_path=tmp_path / "b.npz", model_dir=tmp_path / "m"
        )


def test_reference_stats_describe_the_training_inputs_and_a_calibrated_squeezer(
    trained: tuple[TrainResult, Path], digits_splits: tuple[Path, Path]
) -> None:
    _, model_dir = trained
    path = model_dir / C.REFERENCE_STATS_FILE
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    stats = load_reference_stats(path)
    train, test = (load_split(p) for p in digits_splits)
    flat = train.x.reshape(len(train.x), -1).astype(np.float64)
    assert stats.n == len(train.y) and stats.feature_shape == (8, 8, 1)
    np.testing.assert_allclose(stats.mean, flat.mean(axis=0))
    np.testing.assert_array_equal(stats.maximum, flat.max(axis=0))
    squeezing = stats.squeezing or {}
    assert squeezing["n"] == len(test.y)
    squeezer = FeatureSqueezer.from_settings(squeezing, lower=0.0, upper=1.0, where="test")
    # The threshold flags about the calibrated 5% of the clean held-out inputs it came from.
    _, scores = squeezer.scores(load_servable(model_dir).predict, test.x)
    assert 0.0 < np.mean(scores > squeezer.threshold) <= 0.06


def test_a_test_split_too_small_to_calibrate_squeezing_is_refused(
    digits_splits: tuple[Path, Path], tmp_path: Path
) -> None:
    test = load_split(digits_splits[1])
    tiny = save_split(tmp_path / "tiny.npz", Split(test.x[:9], test.y[:9], 0.0, 1.0, 10))
    with pytest.raises(TrainingError, match="9 test instances; need at least 10"):
        train_model(train_path=digits_splits[0], test_path=tiny, model_dir=tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_mismatched_splits_are_refused(digits_splits: tuple[Path, Path], tmp_path: Path) -> None:
    test = load_split(digits_splits[1])
    flat = save_split(
        tmp_path / "flat.npz", Split(test.x.reshape(len(test.x), -1), test.y, 0.0, 1.0, 10)
    )
    with pytest.raises(TrainingError, match="input shapes"):
        train_model(train_path=digits_splits[0], test_path=flat, model_dir=tmp_path / "model")
    assert not (tmp_path / "model").exists()


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_overflowing_features_raise_and_leave_no_model(tmp_path: Path) -> None:
    # Features near float32's maximum overflow the standardisation statistics.
    rng = np.random.default_rng(0)
    x = rng.uniform(-3e38, 3e38, size=(64, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=64)
    split = Split(x, y, -3.4e38, 3.4e38, 2)
    train, test = (
        save_split(tmp_path / "train.npz", split),
        save_split(tmp_path / "test.npz", split),
    )
    with pytest.raises(TrainingError, match="non-finite in float32"):
        train_model(train_path=train, test_path=test, model_dir=tmp_path / "model", epochs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.npz", "train.npz"]


@pytest.mark.parametrize("losses", [[0.5, float("nan")], [0.5, float("inf")], [0.5]])
def test_non_finite_or_truncated_loss_history_is_a_training_error(losses: list[float]) -> None:
    with pytest.raises(TrainingError, match="loss became non-finite"):
        check_losses(losses, epochs=2, train_path="train.npz")
    check_losses([0.5, 0.4], epochs=2, train_path="train.npz")


@pytest.mark.slow
def test_tabular_split_trains_an_mlp(tmp_path: Path) -> None:
    from sklearn.datasets import load_iris

    iris = load_iris()
    x, y = iris.data.astype(np.float32), iris.target.astype(np.int64)
    split = Split(x, y, 0.0, 8.0, 3)
    train, test = (
        save_split(tmp_path / "train.npz", split),
        save_split(tmp_path / "test.npz", split),
    )
    result = train_model(
        train_path=train, test_path=test, model_dir=tmp_path / "model", epochs=2, batch_size=16
    )
    assert result.provenance["architecture"] == "mlp"
    assert result.provenance["input_shape"] == [4]
    assert (tmp_path / "model" / C.SAVEDMODEL_VERSION_DIR / "saved_model.pb").is_file()
    assert np.array(result.confusion_matrix).sum() == 150
    stats = load_reference_stats(tmp_path / "model" / C.REFERENCE_STATS_FILE)
    assert stats.feature_shape == (4,) and stats.n == 150 and stats.squeezing
