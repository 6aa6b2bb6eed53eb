"""The gate's re-attack API: rebuild declared attacks exactly, re-run them on chosen rows."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks import TFModel, attack_from_params, build_attack, reattack
from kfp_mlsecops.attacks._sweep import sweep
from kfp_mlsecops.errors import InvalidInputError

N, F, K = 30, 10, 4


@pytest.mark.parametrize("name", C.ATTACK_NAMES)
def test_every_attack_rebuilds_from_its_declared_params(name: str) -> None:
    original = build_attack(name, seed=7, input_shape=(8, 8, 1))
    declared = json.loads(json.dumps(original.params()))  # as read back from the results
    rebuilt = attack_from_params(name, declared)
    assert type(rebuilt) is type(original) and rebuilt.name == name
    assert rebuilt.params() == original.params()


@pytest.mark.parametrize(
    ("name", "change", "fragment"),
    [
        ("cw", {}, "attack 'cw': unknown"),
        ("pgd", {"seed": None}, "lack seed"),
        ("pgd", {"queries": 3}, "not PGD's keyword arguments"),
        ("pgd", {"random_start": 1}, "random_start=1 \\(becomes True\\)"),
        ("pgd", {"precision": "auto"}, "precision='auto'"),
        ("pgd", {"norm": "l2"}, "build attack 'pgd_l2'"),
        ("pgd", {"steps": 2.0}, "PGD steps=2.0"),
        ("pgd", {"rel_stepsize": "0.1"}, "rel_stepsize='0.1'"),
        ("apgd_t", {"rho": 1}, "rho=1 \\(becomes 1.0\\)"),
        ("square", {"seed": -1}, "Square seed=-1"),
    ],
)
def test_params_that_do_not_rebuild_exactly_are_refused(
    name: str, change: dict[str, Any], fragment: str
) -> None:
    base = build_attack("pgd" if name == "cw" else name, input_shape=(8, 8, 1)).params()
    params = {**base, **change}
    params = {k: v for k, v in params.items() if v is not None}
    with pytest.raises(InvalidInputError, match=fragment):
        attack_from_params(name, params)


def test_params_must_be_an_object() -> None:
    with pytest.raises(InvalidInputError, match="must be an object"):
        attack_from_params("fgsm", [])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def linear() -> dict[str, Any]:
    import keras

    rng = np.random.default_rng(4)
    inputs = keras.Input((F,))
    layer = keras.layers.Dense(K)
    network = keras.Model(inputs, layer(inputs))
    layer.set_weights([3 * rng.normal(size=(F, K)).astype(np.float32), np.zeros(K, np.float32)])
    model = TFModel(network, bounds=(0.0, 1.0))
    x = rng.uniform(size=(N, F)).astype(np.float32)
    return {"model": model, "x": x, "y": model.predict_labels(x)}


@pytest.mark.slow
def test_reattack_repeats_the_sweep_for_any_subset_and_batch(linear: dict[str, Any]) -> None:
    model, x, y = linear["model"], linear["x"], linear["y"]
    ids = np.arange(N, dtype=np.int64) + 500
    attacks = {
        name: build_attack(name, seed=2, pgd_steps=5, overrides=extra).params()
        for name, extra in (("pgd", None), ("apgd_t", {"n_iter": 5}), ("square", {"n_queries": 40}))
    }
    full = {
        name: sweep(
            attack_from_params(name, p), model, x, y, grid=[0.08], batch_size=N, sample_ids=ids
        )
        for name, p in attacks.items()
    }
    rows = np.array([29, 3, 11, 12])
    got = reattack(
        model, x[rows], y[rows], sample_ids=ids[rows], attacks=attacks, epsilon=0.08, batch_size=3
    )
    assert list(got) == list(attacks)
    for name, survived in got.items():
        np.testing.assert_array_equal(survived, full[name][0][rows], err_msg=name)
    assert 0 < sum(int(f[0].sum()) for f in full.values()) < 3 * N  # not all broken, not none


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"model": "keras"}, "wrap it in TFModel"),
        ({"attacks": {}}, "no attacks to re-run"),
        ({"epsilon": float("nan")}, "epsilon=nan"),
        ({"epsilon": -0.1}, "epsilon=-0.1"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"sample_ids": np.arange(3)}, "need 4 integer ids"),
        ({"attacks": {"pgd": {"steps": 3}}}, "params of 'pgd' lack"),
    ],
)
def test_reattack_refuses_bad_arguments(
    linear: dict[str, Any], change: dict[str, Any], fragment: str
) -> None:
    kwargs: dict[str, Any] = {
        "sample_ids": np.arange(4),
        "attacks": {"fgsm": {}},
        "epsilon": 0.1,
        "batch_size": 8,
    }
    model = linear["model"]
    if change.pop("model", None):
        model = model.keras_model
    kwargs.update(change)
    with pytest.raises(InvalidInputError, match=fragment):
        reattack(model, linear["x"][:4], linear["y"][:4], **kwargs)
