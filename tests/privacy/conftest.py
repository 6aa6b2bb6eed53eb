"""Two trained digits models, once per session, each in a run folder as `mlsecops run` lays it out
(validate-data's splits and manifest, the servable model folder): one deliberately overfit, one
regularised."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from kfp_mlsecops.data import run_validate_data
from kfp_mlsecops.data.split_io import load_split


@dataclass(frozen=True)
class TrainedRun:
    """A run folder (run_dir == task root) holding validate-data's outputs and train/model."""

    run_dir: Path
    train: Path
    test: Path
    model: Path


def _validate(run_dir: Path, x: np.ndarray, y: np.ndarray, test_fraction: float) -> TrainedRun:
    source = run_dir.parent / f"{run_dir.name}-source.npz"
    np.savez(source, x=x, y=y)
    data = run_dir / "validate-data"
    run_validate_data(
        source=str(source),
        train_path=data / "train.npz",
        test_path=data / "test.npz",
        report_json_path=data / "report_json",
        report_md_path=data / "report",
        manifest_path=data / "manifest",
        test_fraction=test_fraction,
        seed=0,
    )
    return TrainedRun(run_dir, data / "train.npz", data / "test.npz", run_dir / "train" / "model")


def _export(model, run: TrainedRun, output_name: str) -> None:
    from kfp_mlsecops.servable.export import export_savedmodel
    from kfp_mlsecops.servable.folder import write_model_folder

    probe = load_split(run.test).x[:8]
    write_model_folder(
        run.model,
        lambda staging: export_savedmodel(
            model, staging / "1", probe=probe, output_name=output_name
        ),
    )


def _digits() -> tuple[np.ndarray, np.ndarray]:
    digits = load_digits()
    return (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)


@pytest.fixture(scope="session")
def overfit_run(tmp_path_factory: pytest.TempPathFactory) -> TrainedRun:
    """150 training samples, two wide layers, no regularisation, 150 epochs: memorises them.

    Outputs logits (the servable signature is named ``logits``).
    """
    import keras

    x, y = _digits()
    # 500 samples, 70% held out: 150 members, 350 non-members.
    run = _validate(tmp_path_factory.mktemp("overfit") / "run", x[:500], y[:500], 0.7)
    train = load_split(run.train)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(train.x, train.y, epochs=150, batch_size=50, verbose=0)
    _export(model, run, "logits")
    return run


@pytest.fixture(scope="session")
def regularised_run(tmp_path_factory: pytest.TempPathFactory) -> TrainedRun:
    """The whole digits train split (1437), a small layer, dropout 0.5, L2 weight decay, early
    stopping on a validation slice, 25 epochs at most. Outputs softmax probabilities."""
    import keras

    x, y = _digits()
    run = _validate(tmp_path_factory.mktemp("regularised") / "run", x, y, 0.2)
    train = load_split(run.train)
    keras.utils.set_random_seed(0)
    decay = keras.regularizers.L2(1e-3)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(64, activation="relu", kernel_regularizer=decay),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax", kernel_regularizer=decay),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(
        train.x,
        train.y,
        epochs=25,
        batch_size=64,
        verbose=0,
        validation_split=0.15,
        callbacks=[keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)],
    )
    _export(model, run, "probabilities")
    return run
