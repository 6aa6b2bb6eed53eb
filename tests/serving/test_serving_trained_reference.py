"""A model from train_model carries reference stats the predictor uses: drift and squeezing."""

from __future__ import annotations

import numpy as np
import pytest
from _served import approved_policy
from prometheus_client import CollectorRegistry

from kfp_mlsecops import constants as C
from kfp_mlsecops.data.split_io import load_split
from kfp_mlsecops.serving import (
    FeatureSqueezer,
    MonitorSettings,
    VerifiedModelRuntime,
    load_reference_stats,
)
from kfp_mlsecops.serving import metric_names as n

#: The session fixture trains the digits model once (several seconds).
pytestmark = pytest.mark.slow

WINDOW = 256


def test_train_model_writes_reference_stats_that_serving_accepts(signed_digits_model):
    m = signed_digits_model
    stats = load_reference_stats(m.model_dir / C.REFERENCE_STATS_FILE)
    train, test = load_split(m.train_split), load_split(m.test_split)
    flat = train.x.reshape(len(train.x), -1).astype(np.float64)
    assert stats.n == len(train.y) and stats.feature_shape == (8, 8, 1)
    np.testing.assert_allclose(stats.mean, flat.mean(axis=0))
    np.testing.assert_allclose(stats.std, flat.std(axis=0))
    squeezing = stats.squeezing
    assert squeezing is not None
    assert squeezing["n"] == len(test.y) and squeezing["false_positive_rate"] == 0.05
    squeezer = FeatureSqueezer.from_settings(
        squeezing, lower=train.lower, upper=train.upper, where="test"
    )
    assert 0.0 < squeezer.threshold <= 2.0


def _drift_after(runtime: VerifiedModelRuntime, registry: CollectorRegistry, x: np.ndarray):
    """Serve a whole window of ``x``; return the exported drift score."""
    runtime.predict(np.ascontiguousarray(x[:WINDOW], dtype=np.float32))
    assert runtime.flush(60)
    return registry.get_sample_value(n.INPUT_DRIFT_SCORE, {"model": "digits"})


def test_predictor_drift_is_near_zero_on_training_data_and_high_on_shifted_data(
    signed_digits_model,
):
    m = signed_digits_model
    registry = CollectorRegistry()
    runtime = VerifiedModelRuntime(
        "digits",
        model_dir=m.model_dir,
        policy=approved_policy(m),
        settings=MonitorSettings(drift_window=WINDOW),
        registry=registry,
    )
    runtime.load()
    try:
        assert runtime.drift_enabled
        # the squeezing calibrated at training time is used, not the defaults
        saved = load_reference_stats(m.model_dir / C.REFERENCE_STATS_FILE).squeezing or {}
        squeezer = runtime.squeezer
        assert (squeezer.bits, squeezer.threshold) == (saved["bits"], saved["threshold"])
        x = load_split(m.train_split).x
        clean = _drift_after(runtime, registry, x)
        dimmed = _drift_after(runtime, registry, x * 0.3)
        inverted = _drift_after(runtime, registry, 1.0 - x)
    finally:
        runtime.close()
    assert clean is not None and clean < 0.15
    assert dimmed > max(0.4, 5 * clean)
    assert inverted > max(1.0, 10 * clean)
