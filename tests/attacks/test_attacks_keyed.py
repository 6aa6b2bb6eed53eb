"""Keyed per-sample randomness: each sample's draws and attack ignore the rest of its batch."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from kfp_mlsecops.attacks import APGD, APGDT, FGSM, PGD, Attack, Square, TFModel, _keyed
from kfp_mlsecops.attacks._sweep import sweep
from kfp_mlsecops.errors import InvalidInputError

N, F, K = 40, 12, 5
MASK = 0xFFFFFFFF


def _mix(x: np.ndarray) -> np.ndarray:
    """lowbias32 in numpy (uint64 holding 32-bit values): the reference for the TF graph."""
    x = x & MASK
    x ^= x >> 16
    x = (x * 0x7FEB352D) & MASK
    x ^= x >> 15
    x = (x * 0x846CA68B) & MASK
    return x ^ (x >> 16)


def _reference_unit(
    ids: np.ndarray, size: int, *, seed: int, stream: int, counter: int, offset: int = 0
) -> np.ndarray:
    ids = ids.astype(np.uint64)
    head = _mix(np.uint64(seed + 0x9E3779B9))
    head = _mix(head ^ np.uint64(stream))
    head = _mix(head ^ np.uint64(counter))
    key = _mix(head ^ (ids >> np.uint64(32)))
    key = _mix(key ^ (ids & np.uint64(MASK)))
    weyl = ((np.arange(size, dtype=np.uint64) * 2 + offset) * 0x9E3779B9) & MASK
    bits = _mix(key[:, None] ^ weyl[None, :])
    return (bits >> 8).astype(np.float32) * np.float32(1.0 / (1 << 24))


def _reference_normal(ids: np.ndarray, size: int, **key: int) -> np.ndarray:
    """Box-Muller with the same float32 operations as the graph (numpy rounds the same way)."""
    f = np.float32
    u = f(1.0) - _reference_unit(ids, size, offset=0, **key)
    a = _reference_unit(ids, size, offset=1, **key)
    bits = u.view(np.int32)
    exponent = ((bits >> 23) - 127).astype(np.float32)
    mantissa = ((bits & 0x7FFFFF) | 0x3F800000).view(np.float32)
    big = mantissa > f(1.4142135)
    mantissa = np.where(big, mantissa * f(0.5), mantissa)
    exponent = np.where(big, exponent + f(1.0), exponent)
    s = (mantissa - f(1.0)) / (mantissa + f(1.0))
    s2 = s * s
    series = np.full_like(s, f(1.0 / 15))
    for k in (13, 11, 9, 7, 5, 3, 1):
        series = series * s2 + f(1.0 / k)
    log = exponent * f(0.6931471805599453) + f(2.0) * s * series
    x = (f(0.25) - np.abs(a - f(0.5))) * f(2.0 * math.pi)
    x2 = x * x
    coefficients = [(-1) ** k / math.factorial(2 * k + 1) for k in range(7, -1, -1)]
    series = np.full_like(x, f(coefficients[0]))
    for c in coefficients[1:]:
        series = series * x2 + f(c)
    return np.sqrt(f(-2.0) * log) * -(x * series)


def test_keyed_draws_match_the_documented_hash_bit_for_bit() -> None:
    import tensorflow as tf

    ids = np.array([0, 1, 7, 2**32 + 5, 2**40 + 3], dtype=np.int64)
    key = {"seed": 11, "stream": 0x41, "counter": 9}
    got = _keyed.keyed_uniform(tf.constant(ids), [3, 2], **key).numpy()
    np.testing.assert_array_equal(got, _reference_unit(ids, 6, **key).reshape(-1, 3, 2))
    many = np.arange(3000, dtype=np.int64)
    got = _keyed.keyed_normal(tf.constant(many), [7], **key).numpy()
    want = _reference_normal(many, 7, **key).reshape(-1, 7)
    np.testing.assert_array_equal(got, want)
    exact = np.sqrt(-2 * np.log(1.0 - _reference_unit(many, 7, offset=0, **key).astype(float)))
    exact *= np.cos(2 * np.pi * _reference_unit(many, 7, offset=1, **key).astype(float))
    np.testing.assert_allclose(got, exact, atol=2e-6)  # the series are accurate, too


def test_keyed_draws_depend_only_on_the_sample_id() -> None:
    import tensorflow as tf

    ids = np.arange(100, 164, dtype=np.int64)
    full = _keyed.keyed_uniform(tf.constant(ids), [8], seed=3, stream=1, counter=0).numpy()
    normal = _keyed.keyed_normal(tf.constant(ids), [8], seed=3, stream=1, counter=0).numpy()
    pick = np.array([63, 0, 17, 17, 5])
    part = _keyed.keyed_uniform(tf.constant(ids[pick]), [8], seed=3, stream=1, counter=0).numpy()
    np.testing.assert_array_equal(part, full[pick])
    part = _keyed.keyed_normal(tf.constant(ids[pick]), [8], seed=3, stream=1, counter=0).numpy()
    np.testing.assert_array_equal(part, normal[pick])
    # another seed, stream or counter gives other numbers; the moments are right
    for other in ({"seed": 4, "stream": 1, "counter": 0}, {"seed": 3, "stream": 2, "counter": 0}):
        moved = _keyed.keyed_uniform(tf.constant(ids), [8], **other).numpy()
        assert np.mean(moved == full) < 0.01
    many = _keyed.keyed_normal(tf.range(4000, dtype=tf.int64), [16], seed=0, stream=5, counter=1)
    assert abs(float(np.mean(many))) < 0.02 and abs(float(np.std(many)) - 1) < 0.02
    assert 0.0 <= float(np.min(full)) and float(np.max(full)) < 1.0


def _linear(seed: int = 3) -> Any:
    import keras

    rng = np.random.default_rng(seed)
    inputs = keras.Input((F,))
    layer = keras.layers.Dense(K)
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights([3 * rng.normal(size=(F, K)).astype(np.float32), np.zeros(K, np.float32)])
    return model


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    rng = np.random.default_rng(2)
    x = rng.uniform(0.0, 1.0, size=(N, F)).astype(np.float32)
    model = TFModel(_linear(), bounds=(0.0, 1.0))
    return {"x": x, "y": model.predict_labels(x), "model": model}


ATTACKS = {
    "pgd": lambda: PGD(steps=5, restarts=2, precision="float32", seed=1),
    "pgd_l2": lambda: PGD(norm="l2", steps=5, seed=1),
    "apgd_ce": lambda: APGD(n_iter=8, restarts=2, seed=1),
    "apgd_ce_l2": lambda: APGD(norm="l2", n_iter=8, seed=1),
    "apgd_t": lambda: APGDT(n_iter=5, n_targets=3, seed=1),
    "square": lambda: Square(n_queries=60, seed=1),
}


@pytest.mark.slow
@pytest.mark.parametrize("make", ATTACKS.values(), ids=ATTACKS.keys())
def test_a_sample_gets_the_same_adversarial_in_any_batch(data: dict[str, Any], make: Any) -> None:
    attack: Attack = make()
    x, y, model = data["x"], data["y"], data["model"]
    eps = np.full(N, 0.5 if attack.norm == "l2" else 0.08, np.float32)
    ids = np.arange(1000, 1000 + N, dtype=np.int64)
    full = attack.run_batch(model, x, y, epsilons=eps, sample_ids=ids)
    order = np.random.default_rng(0).permutation(N)
    for part in (order[:1], order[:7], order):  # alone, a small batch, all shuffled
        got = attack.run_batch(model, x[part], y[part], epsilons=eps[part], sample_ids=ids[part])
        if attack.norm == "linf":
            np.testing.assert_array_equal(got, full[part])
        else:  # the model's own gradient changes in the last bit with the batch size (gemm)
            np.testing.assert_allclose(got, full[part], atol=1e-5)
    # the id, not the position, keys the draws: other ids give other random starts
    moved = attack.run_batch(model, x, y, epsilons=eps, sample_ids=ids + 1)
    assert not np.array_equal(moved, full)


def test_sweep_outcomes_do_not_depend_on_batch_size_or_company(data: dict[str, Any]) -> None:
    x, y, model = data["x"], data["y"], data["model"]
    ids = np.arange(N, dtype=np.int64) * 3
    grid = [0.0, 0.05, 0.1]
    for attack in (FGSM(), *(make() for make in ATTACKS.values() if make().norm == "linf")):
        full = sweep(attack, model, x, y, grid=grid, batch_size=N, sample_ids=ids)
        part = np.sort(np.random.default_rng(1).choice(N, size=13, replace=False))
        again = sweep(
            attack, model, x[part], y[part], grid=grid, batch_size=4, sample_ids=ids[part]
        )
        np.testing.assert_array_equal(again, full[:, part], err_msg=attack.name)


@pytest.mark.parametrize(
    ("ids", "fragment"),
    [
        (np.arange(N - 1), "need 40 integer ids"),
        (np.arange(N, dtype=np.float32), "need 40 integer ids"),
        (np.arange(N) - 1, "must be integers >= 0"),
    ],
)
def test_bad_sample_ids_are_refused(data: dict[str, Any], ids: np.ndarray, fragment: str) -> None:
    eps = np.full(N, 0.1, np.float32)
    for attack in (FGSM(), PGD(steps=1), APGD(n_iter=1), Square(n_queries=2)):
        with pytest.raises(InvalidInputError, match=fragment):
            attack.run_batch(data["model"], data["x"], data["y"], epsilons=eps, sample_ids=ids)
