from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.data.split_io import Split, load_split, save_split
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.servable import load_servable
from kfp_mlsecops.training import ADVERSARIAL_METHODS, TrainResult, train_model
from kfp_mlsecops.training.adversarial import check_adversarial, fit_adversarial, linf_attack

EPOCHS = 2
STEPS = 2


def _train(splits: tuple[Path, Path], model_dir: Path, **kwargs: object) -> TrainResult:
    train_path, test_path = splits
    arguments: dict[str, object] = {"epochs": EPOCHS, "adv_steps": STEPS, "batch_size": 128}
    arguments.update(kwargs)
    return train_model(
        train_path=train_path,
        test_path=test_path,
        model_dir=model_dir,
        **arguments,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def pgd_trained(
    tmp_path_factory: pytest.TempPathFactory, digits_splits: tuple[Path, Path]
) -> tuple[TrainResult, Path]:
    model_dir = tmp_path_factory.mktemp("pgd") / "model"
    return _train(digits_splits, model_dir, adversarial="pgd"), model_dir


def test_methods_are_the_documented_three() -> None:
    assert ADVERSARIAL_METHODS == ("none", "pgd", "fgsm_rs")


def test_default_step_sizes_follow_madry_and_wong() -> None:
    pgd = check_adversarial("pgd", epsilon=0.2, steps=10, step_size=None)
    assert (pgd.steps, pgd.step_size) == (10, pytest.approx(0.05))
    fgsm = check_adversarial("fgsm_rs", epsilon=0.2, steps=10, step_size=None)
    assert (fgsm.steps, fgsm.step_size) == (1, pytest.approx(0.25))
    explicit = check_adversarial("pgd", epsilon=0.1, steps=4, step_size=0.03)
    assert (explicit.epsilon, explicit.steps, explicit.step_size) == (0.1, 4, 0.03)
    assert check_adversarial("none", epsilon=0.2, steps=10, step_size=None).to_provenance() == {
        "method": "none"
    }


def test_pgd_training_writes_the_same_layout_and_records_settings(
    pgd_trained: tuple[TrainResult, Path],
) -> None:
    result, model_dir = pgd_trained
    assert sorted(p.name for p in model_dir.iterdir()) == sorted(
        [C.SAVEDMODEL_VERSION_DIR, C.PROVENANCE_FILE, C.REFERENCE_STATS_FILE]
    )
    on_disk = json.loads((model_dir / C.PROVENANCE_FILE).read_text())
    assert on_disk == result.provenance
    assert on_disk[C.PROVENANCE_ADVERSARIAL] == {
        "method": "pgd",
        "norm": "linf",
        "epsilon": 0.2,
        "steps": STEPS,
        "step_size": pytest.approx(2.5 * 0.2 / STEPS),
        "random_start": True,
    }
    assert on_disk["parameters"] == {
        "epochs": EPOCHS,
        "batch_size": 128,
        "learning_rate": 0.001,
        "seed": 0,
    }
    assert np.isfinite(on_disk["metrics"]["train_loss"])


def test_pgd_trained_model_serves_probabilities_matching_its_metrics(
    pgd_trained: tuple[TrainResult, Path], digits_splits: tuple[Path, Path]
) -> None:
    result, model_dir = pgd_trained
    test = load_split(digits_splits[1])
    probabilities = load_servable(model_dir).predict(test.x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert np.mean(probabilities.argmax(axis=1) == test.y) == pytest.approx(result.accuracy)
    assert result.accuracy > 0.5  # two tiny epochs already learn most digits
    assert np.array(result.confusion_matrix).sum() == len(test.y)


@pytest.mark.slow
def test_same_seed_same_weights_other_seed_other_weights(
    pgd_trained: tuple[TrainResult, Path], digits_splits: tuple[Path, Path], tmp_path: Path
) -> None:
    first, first_dir = pgd_trained
    again = _train(digits_splits, tmp_path / "again", adversarial="pgd")
    other = _train(digits_splits, tmp_path / "other", adversarial="pgd", seed=1)
    x = load_split(digits_splits[1]).x
    same = [load_servable(d).predict(x) for d in (first_dir, tmp_path / "again")]
    np.testing.assert_array_equal(*same)  # same seed: the very same function
    assert again.provenance["metrics"] == first.provenance["metrics"]
    assert other.provenance["metrics"]["train_loss"] != first.provenance["metrics"]["train_loss"]


@pytest.mark.slow
def test_pgd_training_buys_robustness_that_standard_training_lacks(
    pgd_trained: tuple[TrainResult, Path], digits_splits: tuple[Path, Path], tmp_path: Path
) -> None:
    from kfp_mlsecops.attacks import PGD

    _, pgd_dir = pgd_trained
    _train(digits_splits, tmp_path / "plain", adversarial="none")
    test = load_split(digits_splits[1])
    robust = {}
    for name, folder in (("pgd", pgd_dir), ("none", tmp_path / "plain")):
        _, _, fooled = PGD(steps=10)(
            load_servable(folder), test.x, test.y, epsilons=[0.2], lower=0.0, upper=1.0
        )
        robust[name] = 1.0 - float(fooled.mean())
    # Measured: 0.26 vs 0.09; training on noise alone gives 0.07, a flipped attack 0.01.
    assert robust["none"] < 0.15
    assert robust["pgd"] > max(0.2, robust["none"] + 0.1)


@pytest.mark.slow
def test_fgsm_rs_trains_with_one_step_of_one_and_a_quarter_epsilon(
    digits_splits: tuple[Path, Path], tmp_path: Path
) -> None:
    result = _train(digits_splits, tmp_path / "model", adversarial="fgsm_rs", adv_epsilon=0.1)
    record = result.provenance[C.PROVENANCE_ADVERSARIAL]
    assert (record["method"], record["steps"]) == ("fgsm_rs", 1)
    assert record["step_size"] == pytest.approx(0.125)
    assert result.accuracy > 0.5


@pytest.mark.slow
def test_tabular_split_trains_adversarially(tmp_path: Path) -> None:
    from sklearn.datasets import load_iris

    iris = load_iris()
    split = Split(iris.data.astype(np.float32), iris.target.astype(np.int64), 0.0, 8.0, 3)
    train, test = (
        save_split(tmp_path / "train.npz", split),
        save_split(tmp_path / "test.npz", split),
    )
    result = _train(
        (train, test), tmp_path / "model", adversarial="pgd", adv_epsilon=0.3, batch_size=32
    )
    assert result.provenance["architecture"] == "mlp"
    assert result.provenance[C.PROVENANCE_ADVERSARIAL]["epsilon"] == 0.3


def test_training_attack_stays_in_the_ball_and_range_and_raises_the_loss() -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(3, name="logits")(inputs))
    x = np.random.default_rng(0).uniform(0.0, 1.0, size=(32, 6)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 3, size=32)
    settings = check_adversarial("pgd", epsilon=0.25, steps=5, step_size=None)
    attack = tf.function(linf_attack(model, settings, lower=0.0, upper=1.0))
    adv = attack(tf.constant(x), tf.constant(y), tf.constant([0, 0], tf.int64)).numpy()
    assert np.abs(adv - x).max() <= 0.25 + 1e-6
    assert adv.min() >= 0.0 and adv.max() <= 1.0
    assert np.abs(adv - x).max() > 0.2  # the attack moved, to the edge of the ball somewhere

    def loss(batch: np.ndarray) -> float:
        logits = model(batch)
        return float(keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, logits, True)))

    assert loss(adv) > loss(x)
    again = attack(tf.constant(x), tf.constant(y), tf.constant([0, 0], tf.int64)).numpy()
    np.testing.assert_array_equal(adv, again)


def test_a_non_finite_epoch_stops_training_early() -> None:
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="logits")(inputs))
    kernel = model.get_layer("logits").kernel
    kernel.assign(np.full(kernel.shape, np.inf, dtype=np.float32))
    x = np.ones((8, 4), dtype=np.float32)
    losses = fit_adversarial(
        model,
        x,
        np.zeros(8, dtype=np.int64),
        settings=check_adversarial("fgsm_rs", epsilon=0.1, steps=1, step_size=None),
        logits_layer="logits",
        epochs=3,
        batch_size=4,
        learning_rate=1e-3,
        seed=0,
        lower=0.0,
        upper=1.0,
    )
    assert len(losses) == 1 and not np.isfinite(losses[0])


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"adversarial": "madry"}, "adversarial='madry'"),
        ({"adversarial": None}, "adversarial=None"),
        ({"adv_epsilon": 0.0}, "adv_epsilon=0.0"),
        ({"adv_epsilon": -0.1}, "adv_epsilon=-0.1"),
        ({"adv_epsilon": float("nan")}, "adv_epsilon=nan"),
        ({"adv_epsilon": True}, "adv_epsilon=True"),
        ({"adv_epsilon": "0.2"}, "adv_epsilon='0.2'"),
        ({"adv_steps": 0}, "adv_steps=0"),
        ({"adv_steps": 2.5}, "adv_steps=2.5"),
        ({"adv_steps": False}, "adv_steps=False"),
        ({"adv_step_size": 0.0}, "adv_step_size=0.0"),
        ({"adv_step_size": float("inf")}, "adv_step_size=inf"),
    ],
)
def test_bad_adversarial_parameters_are_refused_before_anything_is_read(
    override: dict[str, object], fragment: str, tmp_path: Path
) -> None:
    kwargs: dict[str, object] = {"adversarial": "pgd"}
    kwargs.update(override)
    with pytest.raises(InvalidInputError, match="^" + fragment.replace(".", r"\.")) as info:
        train_model(
            train_path=tmp_path / "missing-train.npz",
            test_path=tmp_path / "missing-test.npz",
            model_dir=tmp_path / "model",
            **kwargs,  # type: ignore[arg-type]
        )
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_epsilon_wider_than_the_input_range_is_refused(
    digits_splits: tuple[Path, Path], tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match=r"^adv_epsilon=1\.5: exceeds the input range"):
        _train(digits_splits, tmp_path / "model", adversarial="pgd", adv_epsilon=1.5)
    assert not (tmp_path / "model").exists()
