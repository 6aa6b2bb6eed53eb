"""Squeezed copies carried into later requests' model calls: same outputs, fewer rows per call."""

from __future__ import annotations

import numpy as np
import pytest

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.serving import FeatureSqueezer, MonitorSettings, VerifiedModelRuntime
from kfp_mlsecops.serving.squeeze_carry import SqueezeCarry


class CountingModel:
    """A real (tiny, fixed) classifier that records the size of every call it gets."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.calls.append(len(batch))
        z = 200.0 * (batch.reshape(len(batch), -1).mean(axis=1) - 0.5)
        e = np.exp(np.stack([-z, z], axis=1) - np.abs(z)[:, None])
        return e / e.sum(axis=1, keepdims=True)


def _expected_scores(squeezer, model, x):
    """Scores from separate calls on the inputs and on each squeezed version."""
    served = model(x)
    return np.max([np.abs(served - model(v)).sum(axis=1) for v in squeezer.squeeze(x)], axis=0)


@pytest.mark.parametrize("median_window", [0, 2])
def test_waiting_copies_ride_in_the_call_that_brings_them_to_min_rows(median_window):
    squeezer = FeatureSqueezer(lower=0.0, upper=1.0, bits=2, median_window=median_window)
    per_instance = squeezer.n_squeezers
    carry = SqueezeCarry(squeezer, min_rows=4 * per_instance)
    model = CountingModel()
    x = np.random.default_rng(3).uniform(0.3, 0.7, size=(7, 4, 4, 1)).astype(np.float32)
    scored = []
    served = []
    for i in range(7):  # one instance per request
        out, done = carry.predict(model, x[i : i + 1], None)
        served.append(out)
        scored += done
    # requests 1-3 predict only themselves; the 4th carries 4 instances' copies; 5-7 wait
    assert model.calls == [1, 1, 1, 1 + 4 * per_instance, 1, 1, 1]
    assert carry.waiting == 3 * per_instance
    assert [len(s.reference) for s in scored] == [4]
    scored += carry.drain(model)  # traffic stopped: the rest in one call
    assert model.calls[-1] == 3 * per_instance and carry.waiting == 0
    assert carry.drain(model) == [] and len(model.calls) == 8  # nothing waits: no call
    reference = CountingModel()
    np.testing.assert_allclose(np.concatenate(served), reference(x), atol=1e-12)
    scores = np.concatenate([squeezer.distances(s.reference, s.squeezed) for s in scored])
    np.testing.assert_allclose(scores, _expected_scores(squeezer, reference, x), atol=1e-12)
    assert not served[0].flags.writeable and not scored[0].squeezed.flags.writeable


def test_only_the_chosen_rows_wait_and_min_rows_1_predicts_each_request_own_copies():
    squeezer = FeatureSqueezer(lower=0.0, upper=1.0, bits=2)
    x = np.random.default_rng(4).uniform(0.3, 0.7, size=(5, 4, 4, 1)).astype(np.float32)
    carry = SqueezeCarry(squeezer, min_rows=1)
    model = CountingModel()
    out, scored = carry.predict(model, x, np.array([0, 3]))
    assert model.calls == [5 + 2] and carry.waiting == 0
    (only,) = scored
    np.testing.assert_allclose(only.reference, out[[0, 3]])
    expected = _expected_scores(squeezer, CountingModel(), x[[0, 3]])
    np.testing.assert_allclose(squeezer.distances(only.reference, only.squeezed), expected)
    out, scored = carry.predict(model, x, np.zeros(0, dtype=np.int64))  # none squeezed
    assert model.calls[-1] == 5 and scored == [] and carry.waiting == 0


def test_waiting_instances_are_private_copies():
    squeezer = FeatureSqueezer(lower=0.0, upper=1.0, bits=2)
    carry = SqueezeCarry(squeezer, min_rows=2)
    x = np.full((1, 4, 4, 1), 0.45, dtype=np.float32)  # class 0; squeezed to 1/3: class 0
    carry.predict(CountingModel(), x, None)
    x[:] = 0.9  # the caller reuses its buffer before the copies are predicted
    (scored,) = carry.drain(CountingModel())
    # squeezing 0.9 would flip the class (a score near 2); the copy kept 0.45
    assert squeezer.distances(scored.reference, scored.squeezed)[0] < 0.01


@pytest.mark.parametrize("min_rows", [0, -1, True, 1.5, "16"])
def test_bad_min_rows_are_refused(min_rows):
    with pytest.raises(InvalidInputError, match="min_rows"):
        SqueezeCarry(FeatureSqueezer(lower=0.0, upper=1.0), min_rows=min_rows)


@pytest.mark.parametrize("field", ["squeeze_every", "squeeze_carry_rows"])
def test_the_runtime_refuses_bad_squeeze_settings_before_loading_anything(field, tmp_path):
    settings = MonitorSettings(**{field: 0})
    with pytest.raises(InvalidInputError, match=f"{field}=0: must be an integer >= 1"):
        VerifiedModelRuntime("m", model_dir=tmp_path, policy=None, settings=settings)


def test_copies_taken_for_a_failed_call_are_counted_lost_not_retried():
    squeezer = FeatureSqueezer(lower=0.0, upper=1.0, bits=2)
    lost = []
    carry = SqueezeCarry(squeezer, min_rows=3, on_lost=lost.append)
    x = np.full((1, 4, 4, 1), 0.45, dtype=np.float32)
    carry.predict(CountingModel(), x, None)
    carry.predict(CountingModel(), x, None)

    def broken(batch):
        raise RuntimeError("model failed")

    with pytest.raises(RuntimeError, match="model failed"):
        carry.predict(broken, x, None)  # due: carries the two waiting instances
    assert lost == [2] and carry.waiting == 0  # the failing request's own copy is not served
    carry.predict(CountingModel(), x, None)
    with pytest.raises(RuntimeError, match="model failed"):
        carry.drain(broken)
    assert lost == [2, 1] and carry.waiting == 0
