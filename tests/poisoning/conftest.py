"""Digits models trained once per session with the repo's training (train_model, the CNN), each
in a run folder as `mlsecops run` lays it out: one on clean data and two with a planted backdoor.

The backdoor (Gu et al. 2017, dirty label): a 2x2 bright patch in the bottom-right corner of
images of other classes, relabelled to class 0. Clean digits never have that patch, so the
poisoned rows of the training split are exactly those that carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from kfp_mlsecops.data import run_validate_data
from kfp_mlsecops.data.split_io import load_split

TARGET = 0
#: Poisoned source images per run; 6 and 14 of them land in the training split (4.0% and 8.9%
#: of the target class there), the rest in the test split.
POISONED_SOURCE = {"low": 9, "high": 18}


@dataclass(frozen=True)
class TrainedRun:
    """A run folder (run_dir == task root) holding validate-data's outputs and train/model."""

    run_dir: Path
    train: Path
    test: Path
    model: Path

    def poisoned_rows(self) -> np.ndarray:
        """Return a boolean mask of the training rows that carry the trigger."""
        return has_trigger(load_split(self.train).x)


def stamp(x: np.ndarray) -> np.ndarray:
    """Return ``x`` (N, 8, 8, 1) with the trigger stamped on."""
    out = x.copy()
    out[:, 6:8, 6:8, 0] = 1.0
    return out


def has_trigger(x: np.ndarray) -> np.ndarray:
    """Return which images carry the trigger."""
    return (x[:, 6:8, 6:8, 0] == 1.0).all(axis=(1, 2))


def _train(root: Path, n_poisoned: int) -> TrainedRun:
    from kfp_mlsecops.training import train_model

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]
    y = digits.target.astype(np.int64)
    assert not has_trigger(x).any()
    rows = np.random.default_rng(0).choice(np.flatnonzero(y != TARGET), n_poisoned, replace=False)
    x[rows] = stamp(x[rows])
    y[rows] = TARGET
    run_dir = root / "run"
    source = root / "source.npz"
    np.savez(source, x=x, y=y)
    data = run_dir / "validate-data"
    run_validate_data(
        source=str(source),
        train_path=data / "train.npz",
        test_path=data / "test.npz",
        report_json_path=data / "report_json",
        report_md_path=data / "report",
        manifest_path=data / "manifest",
        seed=0,
    )
    run = TrainedRun(run_dir, data / "train.npz", data / "test.npz", run_dir / "train" / "model")
    train_model(train_path=run.train, test_path=run.test, model_dir=run.model, epochs=5, seed=0)
    return run


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> TrainedRun:
    """The repo's CNN trained on clean digits (5 epochs)."""
    return _train(tmp_path_factory.mktemp("clean"), 0)


@pytest.fixture(scope="session")
def poisoned_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TrainedRun]:
    """The same training on digits with a backdoor into class 0, at two poisoning rates."""
    return {
        name: _train(tmp_path_factory.mktemp(f"poisoned-{name}"), n)
        for name, n in POISONED_SOURCE.items()
    }
