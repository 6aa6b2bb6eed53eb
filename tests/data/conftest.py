"""Fixtures for the data-validation core tests: small synthetic datasets and output paths."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kfp_mlsecops.data import ValidationOutcome, run_validate_data


def make_xy(
    n_per_class: int = 20, n_classes: int = 3, features: int = 4, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A clean tabular dataset: uniform features in [0, 1), balanced integer labels."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(n_per_class * n_classes, features)).astype(np.float64)
    y = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    return x, y


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> str:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


@pytest.fixture
def xy() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """The :func:`make_xy` factory."""
    return make_xy


@pytest.fixture
def csv_file(tmp_path: Path) -> Callable[..., str]:
    """Write a CSV with a header row to ``tmp_path/<name>`` and return the path as a string."""

    def write(header: list[str], rows: list[list[Any]], name: str = "data.csv") -> str:
        return write_csv(tmp_path / name, header, rows)

    return write


@pytest.fixture
def npz_file(tmp_path: Path) -> Callable[..., str]:
    """Write arrays to ``tmp_path/<name>`` with numpy.savez and return the path as a string."""

    def write(x: Any, y: Any, name: str = "data.npz") -> str:
        path = tmp_path / name
        np.savez(path, x=x, y=y)
        return str(path)

    return write


@pytest.fixture
def out(tmp_path: Path) -> dict[str, Path]:
    """The six output paths of run_validate_data, under tmp_path/out."""
    base = tmp_path / "out"
    return {
        "train_path": base / "train.npz",
        "test_path": base / "test.npz",
        "report_json_path": base / "report.json",
        "report_md_path": base / "report.md",
        "manifest_path": base / "manifest.json",
    }


@pytest.fixture
def validate(out: dict[str, Path]) -> Callable[..., ValidationOutcome]:
    """Call run_validate_data with the ``out`` paths plus the given keyword arguments."""

    def run(source: str, **kwargs: Any) -> ValidationOutcome:
        return run_validate_data(source=source, **out, **kwargs)

    return run
