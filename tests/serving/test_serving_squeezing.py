from __future__ import annotations

import numpy as np
import pytest

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.serving import FeatureSqueezer, calibrate_squeezing


def linear_softmax(batch: np.ndarray) -> np.ndarray:
    """A real (tiny, fixed) classifier: class 1 iff the mean input exceeds 0.5, sharply."""
    z = 200.0 * (batch.reshape(len(batch), -1).mean(axis=1) - 0.5)
    logits = np.stack([-z, z], axis=1)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_bit_depth_reduction_snaps_to_levels_of_the_input_range():
    squeezer = FeatureSqueezer(lower=-1.0, upper=1.0, bits=2)
    x = np.linspace(-1.0, 1.0, 101, dtype=np.float32).reshape(1, -1)
    (reduced,) = squeezer.squeeze(x)
    assert reduced.dtype == np.float32
    np.testing.assert_allclose(np.unique(reduced), [-1.0, -1 / 3, 1 / 3, 1.0], atol=1e-6)


def test_median_2x2_matches_the_definition():
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    squeezer = FeatureSqueezer(lower=0.0, upper=8.0, bits=16, median_window=2)
    _, median = squeezer.squeeze(x)
    # top-left window {0, 1, 3, 4} -> 2; bottom-right is edge-padded {8, 8, 8, 8} -> 8
    assert median[0, 0, 0, 0] == 2.0 and median[0, 2, 2, 0] == 8.0
    assert median.shape == x.shape
    with pytest.raises(InvalidInputError, match="image batches"):
        squeezer.squeeze(np.zeros((2, 9), dtype=np.float32))


def test_an_input_whose_prediction_flips_under_squeezing_scores_high():
    squeezer = FeatureSqueezer(lower=0.0, upper=1.0, bits=1)
    clean = np.full((1, 16), 0.9, dtype=np.float32)  # far from the boundary: stays class 1
    # Just above the boundary, built from values that 1-bit squeezing rounds down.
    fragile = np.full((1, 16), 0.45, dtype=np.float32)
    fragile[0, :3] = 0.8
    probabilities, scores = squeezer.scores(linear_softmax, np.concatenate([clean, fragile]))
    assert probabilities.argmax(axis=1).tolist() == [1, 1]
    assert scores[0] < 0.01 and scores[1] > 1.9


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lower": 1.0, "upper": 1.0},
        {"lower": 0.0, "upper": 1.0, "bits": 0},
        {"lower": 0.0, "upper": 1.0, "bits": True},
        {"lower": 0.0, "upper": 1.0, "median_window": 3},
        {"lower": 0.0, "upper": 1.0, "threshold": 0.0},
        {"lower": 0.0, "upper": 1.0, "threshold": 2.5},
    ],
)
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(InvalidInputError):
        FeatureSqueezer(**kwargs)


def test_calibration_flags_about_the_requested_share_of_clean_inputs():
    x = np.random.default_rng(3).uniform(0.3, 0.7, size=(400, 16)).astype(np.float32)
    settings = calibrate_squeezing(
        linear_softmax, x, lower=0.0, upper=1.0, bits=2, false_positive_rate=0.1
    )
    assert settings["bits"] == 2 and settings["n"] == 400 and settings["median_window"] == 0
    squeezer = FeatureSqueezer.from_settings(settings, lower=0.0, upper=1.0, where="test")
    _, scores = squeezer.scores(linear_softmax, x)
    assert 0.05 <= float(np.mean(scores > squeezer.threshold)) <= 0.1
    with pytest.raises(InvalidInputError):
        calibrate_squeezing(linear_softmax, x[:5], lower=0.0, upper=1.0)
    with pytest.raises(InvalidInputError, match="recalibrate"):
        FeatureSqueezer.from_settings({"bits": 2}, lower=0.0, upper=1.0, where="test")


@pytest.mark.parametrize("median_window", [0, 2])
@pytest.mark.parametrize("lower, upper", [(-1.0, 2.0), (0.0, 1.0), (0.0, 255.0)])
def test_stack_holds_the_inputs_then_their_squeezed_copies_and_copies_only_those(
    median_window, lower, upper
):
    squeezer = FeatureSqueezer(lower=lower, upper=upper, bits=3, median_window=median_window)
    x = np.random.default_rng(5).uniform(lower, upper, size=(7, 4, 4, 1)).astype(np.float32)
    x[0, 0, :2, 0] = [lower + (upper - lower) / 14, lower + 3 * (upper - lower) / 14]  # ties
    versions = squeezer.squeeze(x)
    stacked = squeezer.stack(x)
    assert stacked.dtype == np.float32 and len(stacked) == len(x) * (1 + len(versions))
    np.testing.assert_array_equal(stacked, np.concatenate([x, *versions]))
    # the textbook bit-depth reduction (as the predictor computed it before), bit for bit
    span = upper - lower
    unit = np.clip((x - lower) / span, 0.0, 1.0)
    expected = (np.round(unit * 7.0) / 7.0 * span + lower).astype(np.float32)
    np.testing.assert_array_equal(stacked[7:14], expected)
    rows = np.array([1, 4])
    some = squeezer.copies(x, rows)
    assert len(some) == 2 * len(versions)
    np.testing.assert_array_equal(some, np.concatenate(squeezer.squeeze(x[rows])))
    np.testing.assert_array_equal(squeezer.copies(x), stacked[7:])


def test_one_call_scores_equal_separate_calls_on_the_inputs_and_squeezed_copies():
    squeezer = FeatureSqueezer(lower=0.0, upper=1.0, bits=2, median_window=2)
    x = np.random.default_rng(6).uniform(0.3, 0.7, size=(50, 4, 4, 1)).astype(np.float32)
    probabilities, scores = squeezer.scores(linear_softmax, x)
    separate = [linear_softmax(v) for v in squeezer.squeeze(x)]
    expected = np.maximum(*(np.abs(linear_softmax(x) - s).sum(axis=1) for s in separate))
    np.testing.assert_allclose(probabilities, linear_softmax(x), atol=1e-12)
    np.testing.assert_allclose(scores, expected, atol=1e-12)
