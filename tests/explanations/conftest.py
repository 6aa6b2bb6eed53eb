"""A digits model trained once per session with the repo's training (train_model, the CNN, 3
epochs), in a run folder as `mlsecops run` lays it out (validate-data's splits and manifest, the
servable model folder)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from kfp_mlsecops.data import run_validate_data


@dataclass(frozen=True)
class TrainedRun:
    """A run folder (run_dir == task root) holding validate-data's outputs and train/model."""

    run_dir: Path
    train: Path
    test: Path
    model: Path


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> TrainedRun:
    """The repo's CNN trained on digits (3 epochs, about 97% test accuracy)."""
    from kfp_mlsecops.training import train_model

    root = tmp_path_factory.mktemp("explanations")
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]
    source = root / "source.npz"
    np.savez(source, x=x, y=digits.target.astype(np.int64))
    run_dir = root / "run"
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
    train_model(train_path=run.train, test_path=run.test, model_dir=run.model, epochs=3, seed=0)
    return run
