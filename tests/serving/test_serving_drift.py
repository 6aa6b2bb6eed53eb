from __future__ import annotations

import numpy as np
import pytest

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.serving import (
    DriftMonitor,
    compute_reference_stats,
    load_reference_stats,
    write_reference_stats,
)

RNG = np.random.default_rng(7)
MEAN = np.linspace(-1.0, 1.0, 16)
STD = np.linspace(0.5, 2.0, 16)


@pytest.fixture(scope="module")
def stats(tmp_path_factory):
    x = RNG.normal(MEAN, STD, size=(20000, 16))
    path = tmp_path_factory.mktemp("ref") / "stats.json"
    return load_reference_stats(write_reference_stats(path, compute_reference_stats(x)))


def test_no_score_until_min_samples(stats):
    monitor = DriftMonitor(stats, window=64, min_samples=10)
    assert monitor.update(RNG.normal(MEAN, STD, size=(9, 16))) is None
    assert monitor.update(RNG.normal(MEAN, STD, size=(1, 16))) is not None


def test_same_distribution_scores_low_and_a_one_std_shift_scores_about_one(stats):
    monitor = DriftMonitor(stats, window=256)
    same = monitor.update(RNG.normal(MEAN, STD, size=(256, 16)))
    assert same is not None and same < 0.15
    shifted = monitor.update(RNG.normal(MEAN + STD, STD, size=(256, 16)))
    assert shifted is not None and 0.8 < shifted < 1.2
    # The window slides: once it holds only unshifted instances again, the score drops back.
    back = monitor.update(RNG.normal(MEAN, STD, size=(256, 16)))
    assert back is not None and back < 0.15


def test_score_always_equals_a_direct_computation_over_the_last_window(stats):
    window = 50
    monitor = DriftMonitor(stats, window=window, min_samples=1)
    seen = []
    scale = np.maximum(stats.std, 0.1 * stats.std.mean())
    for size in [3, 17, 1, 49, 50, 64, 2, 120, 7, 33, 50, 1]:
        batch = RNG.normal(MEAN + RNG.normal(), STD, size=(size, 16))
        seen.extend(batch)
        got = monitor.update(batch)
        last = np.asarray(seen[-window:])
        want = np.mean(np.abs(last.mean(axis=0) - stats.mean) / scale)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_constant_training_features_do_not_dominate(tmp_path):
    x = RNG.normal(0.0, 1.0, size=(1000, 4))
    x[:, 0] = 0.0  # e.g. a blank image border
    stats = load_reference_stats(
        write_reference_stats(tmp_path / "s.json", compute_reference_stats(x))
    )
    batch = RNG.normal(0.0, 1.0, size=(200, 4))
    batch[:, 0] = 0.01  # a tiny change where training had none
    score = DriftMonitor(stats, window=200).update(batch)
    assert score is not None and score < 0.2


@pytest.mark.parametrize("kwargs", [{"window": 0}, {"window": 8, "min_samples": 9}])
def test_bad_settings_and_shapes_are_refused(stats, kwargs):
    with pytest.raises(InvalidInputError):
        DriftMonitor(stats, **kwargs)
    with pytest.raises(InvalidInputError, match="expected"):
        DriftMonitor(stats).update(np.zeros((3, 5)))
