"""Bring your own model and data: ``mlsecops run --model M --data D`` as a user would type it.

Two users, each with a Keras model trained outside this package with plain Keras, and held-out
data the model never saw, gated under the staging floor (manifests/policy/staging: clean >= 0.9,
robust >= 0.4 at 5% of the input range, PGD >= 20 steps) with the pipeline's default run
thresholds (clean >= 0.9, robust >= 0.5 under the worst-case attack):

- a table: scikit-learn's breast-cancer data, min-max scaled to [0, 1] by the user, as a CSV
  whose label column is ``diagnosis``; a small softmax MLP saved as ``.keras``. With weight
  decay it is approved; the same MLP without weight decay is as accurate but not robust at
  epsilon 0.05 and is blocked.
- an image folder: digits as 8-bit grayscale PNGs (0..255) in class folders named by word
  (``eight``, ``five``, ...), read for training with ``keras.utils.image_dataset_from_directory``;
  a CNN that scales inside the model (``Rescaling``), exported as a SavedModel. With epsilons in
  pixel units it is approved; with epsilons given in [0, 1] units the floor's epsilon (5% of
  255) was never evaluated and the gate blocks.

Real KFP local runner, real attacks and gate; only the exit code, the decision file and the
deploy manifest are read, as a CI job would.
"""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.main import main

pytestmark = pytest.mark.slow

EXIT_OK, EXIT_BLOCKED = 0, 3
REPO = Path(__file__).resolve().parents[2]
STAGING = REPO / "manifests" / "policy" / "staging" / "policy.yaml"
#: Class folders named by word, so sorted order (the labels) differs from digit order.
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PIXEL_EPSILONS = (0.05 * 255, 0.1 * 255)


def _mlp(*, weight_decay: float):
    """A user's tabular classifier: 30 features -> 2 softmax scores (not a sigmoid unit)."""
    import keras

    reg = keras.regularizers.L2(weight_decay) if weight_decay else None
    model = keras.Sequential(
        [
            keras.Input((30,)),
            keras.layers.Dense(32, activation="relu", kernel_regularizer=reg),
            keras.layers.Dense(2, activation="softmax", kernel_regularizer=reg),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return model


@pytest.fixture(scope="module")
def breast_cancer(tmp_path_factory):
    """Held-out rows as ``eval.csv`` and two MLPs trained on the other rows, as ``.keras``."""
    import keras
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import MinMaxScaler

    root = tmp_path_factory.mktemp("breast-cancer")
    bunch = load_breast_cancer()
    order = np.random.default_rng(0).permutation(len(bunch.target))
    train, held_out = order[:400], order[400:]
    # Fitted on the training rows; clip keeps held-out rows inside the model's [0, 1] domain.
    scaler = MinMaxScaler(clip=True).fit(bunch.data[train])
    x = scaler.transform(bunch.data).astype(np.float32)
    y = bunch.target.astype(np.int64)
    with open(root / "eval.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*bunch.feature_names, "diagnosis"])
        for row, label in zip(x[held_out], y[held_out], strict=True):
            writer.writerow([*(f"{v:.6f}" for v in row), int(label)])
    for name, weight_decay, epochs in (("robust", 0.01, 20), ("plain", 0.0, 100)):
        keras.utils.set_random_seed(0)
        model = _mlp(weight_decay=weight_decay)
        model.fit(x[train], y[train], epochs=epochs, batch_size=32, verbose=0)
        model.save(root / f"{name}.keras")
    return root


@pytest.fixture(scope="module")
def digit_images(tmp_path_factory):
    """``train/`` and ``eval/`` PNG folders and a CNN trained on ``train/``, as a SavedModel."""
    import keras
    from PIL import Image
    from sklearn.datasets import load_digits

    root = tmp_path_factory.mktemp("digit-images")
    bunch = load_digits()
    pixels = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    order = np.random.default_rng(0).permutation(len(bunch.target))
    for split, index in (("train", order[:1400]), ("eval", order[1400:])):
        for i in index:
            folder = root / split / WORDS[bunch.target[i]]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels[i], mode="L").save(folder / f"{i:04d}.png")
    train = keras.utils.image_dataset_from_directory(
        root / "train", color_mode="grayscale", image_size=(8, 8), batch_size=64, seed=0,
        verbose=False,
    )  # fmt: skip
    (root / "keras-classes.json").write_text(json.dumps(train.class_names))
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Rescaling(1.0 / 255),
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
    model.fit(train, epochs=15, shuffle=False, verbose=0)  # the dataset shuffles itself
    model.export(str(root / "savedmodel"), verbose=False)
    return root


def _run(output_dir, capsys, *argv):
    """``mlsecops run`` under the staging floor; return (exit code, stdout, task folder)."""
    argv = ["run", *argv, "--policy", str(STAGING), "--output-dir", str(output_dir)]
    code = main(argv)
    out = capsys.readouterr().out
    (task_root,) = output_dir.glob("run-*/pipeline-root/secure-release-*")
    return code, out, task_root


def _controls(decision):
    return {c["id"]: c for c in decision[C.CONTROLS]}


def _assert_approved(code, out, task_root):
    assert code == EXIT_OK, out
    assert "GATE DECISION: APPROVED" in out
    decision = json.loads((task_root / "gate" / "decision").read_text())
    assert decision[C.DECISION] == C.DECISION_APPROVED and decision[C.BLESSED] is True
    assert decision["floor"]["name"] == "staging"
    assert all(c["passed"] for c in decision[C.CONTROLS])
    assert decision["rederivation"]["unreproduced"] == 0
    assert (task_root / "gate" / "approval").is_file()
    assert (task_root / "deploy" / "manifest").is_file()
    return decision


def _assert_blocked(code, out, task_root):
    assert code == EXIT_BLOCKED, out
    assert "GATE DECISION: BLOCKED" in out
    decision = json.loads((task_root / "gate" / "decision").read_text())
    assert decision[C.DECISION] == C.DECISION_BLOCKED and decision[C.BLESSED] is False
    assert not (task_root / "gate" / "approval").exists()
    assert not (task_root / "deploy" / "manifest").exists()
    return decision


def _table_argv(data, model):
    return ["--model", str(model), "--data", str(data / "eval.csv"), "--label-column", "diagnosis"]


def test_a_tabular_mlp_with_weight_decay_is_approved_on_a_csv_table(
    tmp_path, capsys, breast_cancer
):
    argv = _table_argv(breast_cancer, breast_cancer / "robust.keras")
    code, out, task_root = _run(tmp_path, capsys, *argv, "--eps", "0.05,0.1")
    decision = _assert_approved(code, out, task_root)

    assert decision["policy"]["robust_epsilon"] == 0.05  # 5% of [0, 1]: the floor, met exactly
    controls = _controls(decision)
    assert controls["clean_accuracy"]["measured"] >= 0.9  # measured 0.95
    assert controls["robust_accuracy"]["measured"] >= 0.5  # measured 0.80
    report = json.loads((task_root / "validate-data" / "report_json").read_text())
    assert report["feature_shape"] == [30] and report["n_classes"] == 2
    assert report["split_sizes"] == {"train": 0, "test": 169}  # every held-out row, no re-split
    provenance = json.loads((task_root / "import-model" / "model" / C.PROVENANCE_FILE).read_text())
    assert provenance["imported"]["format"] == "keras"
    assert provenance["serving"]["output"] == "probabilities"


def test_the_same_mlp_without_weight_decay_is_accurate_but_blocked_as_not_robust(
    tmp_path, capsys, breast_cancer
):
    argv = _table_argv(breast_cancer, breast_cancer / "plain.keras")
    code, out, task_root = _run(tmp_path, capsys, *argv, "--eps", "0.05,0.1")
    decision = _assert_blocked(code, out, task_root)

    controls = _controls(decision)
    assert [name for name, c in controls.items() if not c["passed"]] == ["robust_accuracy"]
    assert controls["clean_accuracy"]["measured"] >= 0.9
    robust = controls["robust_accuracy"]
    assert robust["threshold"] == 0.5 and robust["measured"] < 0.45  # measured 0.38
    assert "robust_accuracy" in decision["message"]


def test_a_cnn_savedmodel_is_approved_on_an_image_folder_in_pixel_units(
    tmp_path, capsys, digit_images
):
    eps = ",".join(f"{e:g}" for e in PIXEL_EPSILONS)
    argv = ["--model", str(digit_images / "savedmodel"), "--data", str(digit_images / "eval")]
    argv += ["--data-format", "images", "--value-min", "0", "--value-max", "255"]
    argv += ["--eps", eps, "--robust-epsilon", f"{PIXEL_EPSILONS[0]:g}"]
    code, out, task_root = _run(tmp_path, capsys, *argv)
    decision = _assert_approved(code, out, task_root)

    assert decision["policy"]["robust_epsilon"] == pytest.approx(12.75)
    controls = _controls(decision)
    assert controls["clean_accuracy"]["measured"] >= 0.9
    assert controls["robust_accuracy"]["measured"] >= 0.5
    report = json.loads((task_root / "validate-data" / "report_json").read_text())
    # The package labels class folders exactly as Keras did when the model was trained.
    keras_classes = json.loads((digit_images / "keras-classes.json").read_text())
    assert report["class_names"] == keras_classes != list(WORDS)
    assert report["feature_shape"] == [8, 8, 1]
    results = json.loads((task_root / "attack-test" / "results").read_text())
    assert results["n_samples"] == 397 and results["model_output"] == "logits"
    provenance = json.loads((task_root / "import-model" / "model" / C.PROVENANCE_FILE).read_text())
    assert provenance["imported"]["format"] == "savedmodel"
    assert provenance["input_range"] == {"lower": 0.0, "upper": 255.0}


def test_epsilons_given_in_0_1_units_for_0_255_images_are_blocked(tmp_path, capsys, digit_images):
    argv = ["--model", str(digit_images / "savedmodel"), "--data", str(digit_images / "eval")]
    argv += ["--value-min", "0", "--value-max", "255", "--eps", "0.05,0.1"]
    code, out, task_root = _run(tmp_path, capsys, *argv)
    assert "was not evaluated" in out and "the gate will block this run" in out  # preflight
    decision = _assert_blocked(code, out, task_root)

    assert decision["policy"]["robust_epsilon"] == pytest.approx(12.75)  # raised to the floor
    assert any("robust_epsilon 0.05 raised to the floor 12.75" in n for n in decision["notes"])
    floor = _controls(decision)["policy_floor"]
    assert floor["passed"] is False
    assert "robust_epsilon=12.75 was not evaluated (epsilons: 0.05, 0.1" in floor["detail"]
