from __future__ import annotations

import json

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.serving import (
    compute_reference_stats,
    load_reference_stats,
    write_reference_stats,
)


def test_stats_are_per_flattened_feature_and_round_trip(tmp_path):
    x = np.random.default_rng(1).normal(3.0, 2.0, size=(500, 2, 3, 1)).astype(np.float32)
    doc = compute_reference_stats(x)
    assert doc[C.SCHEMA] == C.REFERENCE_STATS_SCHEMA
    assert doc["n"] == 500 and doc["feature_shape"] == [2, 3, 1]
    path = write_reference_stats(tmp_path / C.REFERENCE_STATS_FILE, doc)
    stats = load_reference_stats(path)
    flat = x.reshape(500, -1).astype(np.float64)
    np.testing.assert_allclose(stats.mean, flat.mean(axis=0))
    np.testing.assert_allclose(stats.std, flat.std(axis=0))
    np.testing.assert_array_equal(stats.minimum, flat.min(axis=0))
    np.testing.assert_array_equal(stats.maximum, flat.max(axis=0))
    assert stats.feature_shape == (2, 3, 1) and stats.n_features == 6 and stats.squeezing is None


@pytest.mark.parametrize(
    "x",
    [
        np.zeros((1, 4)),  # one instance
        np.array([[1.0, np.nan], [2.0, 3.0]]),
        np.array([["a", "b"], ["c", "d"]]),
        np.zeros(5),  # no feature axis
    ],
)
def test_compute_refuses_unusable_inputs(x):
    with pytest.raises(InvalidInputError):
        compute_reference_stats(x)


def _corrupt(doc, key, value):
    bad = dict(doc)
    bad[key] = value
    return bad


@pytest.mark.parametrize(
    "change",
    [
        lambda d: _corrupt(d, C.SCHEMA, "other/v1"),
        lambda d: _corrupt(d, "n", 1),
        lambda d: _corrupt(d, "n", True),
        lambda d: _corrupt(d, "mean", d["mean"][:-1]),
        lambda d: _corrupt(d, "std", [-1.0] * len(d["std"])),
        lambda d: _corrupt(d, "min", [v + 100 for v in d["max"]]),
        lambda d: _corrupt(d, "feature_shape", [0]),
        lambda d: _corrupt(d, "squeezing", "yes"),
    ],
)
def test_load_refuses_malformed_documents(tmp_path, change):
    doc = compute_reference_stats(np.arange(12, dtype=np.float32).reshape(4, 3))
    path = tmp_path / "stats.json"
    path.write_text(json.dumps(change(doc)))
    with pytest.raises(InvalidInputError, match="stats.json"):
        load_reference_stats(path)


def test_load_refuses_non_finite_literals_and_missing_file(tmp_path):
    doc = compute_reference_stats(np.arange(12, dtype=np.float32).reshape(4, 3))
    text = json.dumps(doc).replace(str(doc["mean"][0]), "NaN", 1)
    path = tmp_path / "stats.json"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        load_reference_stats(path)
    with pytest.raises(InvalidInputError, match="not found"):
        load_reference_stats(tmp_path / "missing.json")
