"""PGD-L2, APGD-CE/DLR, APGD-T and Square on small models: balls, ranges, schedules, seeds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kfp_mlsecops.attacks import APGD, APGDT, PGD, Attack, Square, TFModel
from kfp_mlsecops.attacks._apgd_loop import checkpoints
from kfp_mlsecops.attacks.base import clip_perturbation
from kfp_mlsecops.attacks.invariants import check_perturbation
from kfp_mlsecops.attacks.square import window_fraction, window_sides
from kfp_mlsecops.errors import InvalidInputError

N, F, K = 64, 12, 5


def _linear(n_classes: int, seed: int = 3, activation: str | None = None) -> Any:
    import keras

    rng = np.random.default_rng(seed)
    inputs = keras.Input((F,))
    layer = keras.layers.Dense(n_classes, activation=activation)
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights(
        [3 * rng.normal(size=(F, n_classes)).astype(np.float32), np.zeros(n_classes, np.float32)]
    )
    return model


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    rng = np.random.default_rng(11)
    x = rng.uniform(0.0, 1.0, size=(N, F)).astype(np.float32)
    model = TFModel(_linear(K), bounds=(0.0, 1.0))
    return {"x": x, "y": model.predict_labels(x), "model": model}  # clean accuracy 1


ATTACKS = {
    "pgd_l2": lambda: PGD(norm="l2", steps=10),
    "apgd_ce": lambda: APGD(n_iter=10),
    "apgd_dlr": lambda: APGD(loss="dlr", n_iter=10),
    "apgd_t": lambda: APGDT(n_iter=10),
    "apgd_ce_l2": lambda: APGD(norm="l2", n_iter=10),
    "square": lambda: Square(n_queries=100),
}


def _norms(delta: np.ndarray, norm: str) -> np.ndarray:
    flat = delta.reshape(len(delta), -1).astype(np.float64)
    return np.sqrt((flat**2).sum(axis=1)) if norm == "l2" else np.abs(flat).max(axis=1)


@pytest.mark.slow
@pytest.mark.parametrize("make", ATTACKS.values(), ids=ATTACKS.keys())
def test_attack_stays_in_its_ball_and_range_and_is_exact_at_eps_zero(
    data: dict[str, Any], make: Any
) -> None:
    attack: Attack = make()
    x, y, model = data["x"], data["y"], data["model"]
    eps = 0.6 if attack.norm == "l2" else 0.15
    raw, clipped, success = attack(model, x, y, epsilons=[0.0, eps], lower=0.0, upper=1.0)
    np.testing.assert_array_equal(raw[0], x)  # the attack itself returns x, not the base class
    assert not success[0].any()
    # the attack projects by itself: its raw output already lies in the ball and the range
    assert _norms(raw[1] - x, attack.norm).max() <= eps + 1e-6
    assert raw[1].min() >= 0.0 and raw[1].max() <= 1.0
    np.testing.assert_allclose(clipped[1], raw[1], atol=1e-6)
    assert 0.2 < success[1].mean() < 1.0  # it finds adversarials, but not for every sample


@pytest.mark.slow
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_early_stop_keeps_every_sample_the_full_run_breaks(
    data: dict[str, Any], norm: str
) -> None:
    x, y, model = data["x"], data["y"], data["model"]
    epsilons = [0.3, 0.6] if norm == "l2" else [0.05, 0.1]
    runs = [
        PGD(norm=norm, steps=10, restarts=2, early_stop=stop)(
            model, x, y, epsilons=epsilons, lower=0.0, upper=1.0
        )[2]
        for stop in (False, True)
    ]
    full, stopped = runs
    assert (stopped >= full).all()  # same path until a sample breaks, and then it is kept
    assert 0 < full.sum() < full.size


@pytest.mark.slow
def test_pgd_early_stop_on_a_batch_that_breaks_completely() -> None:
    # a CNN: oneDNN rejects an empty batch, which is what is left once every sample is broken
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 4, 1))
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(h)
    outputs = keras.layers.Dense(K)(keras.layers.Flatten()(h))
    model = TFModel(keras.Model(inputs, outputs), bounds=(0.0, 1.0))
    x = np.random.default_rng(0).uniform(size=(16, 4, 4, 1)).astype(np.float32)
    y = model.predict_labels(x)
    _, clipped, success = PGD(steps=5, restarts=3)(
        model, x, y, epsilons=[0.0, 1.0], lower=0.0, upper=1.0
    )
    assert not success[0].any() and success[1].all()
    np.testing.assert_array_equal(clipped[0], x)


def test_pgd_l2_uses_the_whole_l2_ball_not_the_linf_box(data: dict[str, Any]) -> None:
    x, y, model = data["x"], data["y"], data["model"]
    adv = PGD(norm="l2", steps=10).run(model, x, y, epsilon=0.5)
    norms = _norms(adv - x, "l2")
    assert norms.max() <= 0.5 + 1e-6 and np.median(norms) > 0.45  # reaches the sphere
    assert _norms(adv - x, "linf").max() > 0.2  # far outside an L-inf box of the same size


def test_apgd_is_at_least_as_strong_as_pgd_on_the_same_budget(data: dict[str, Any]) -> None:
    x, y, model = data["x"], data["y"], data["model"]
    _, _, pgd = PGD(steps=10)(model, x, y, epsilons=[0.05, 0.1], lower=0.0, upper=1.0)
    _, _, apgd = APGD(n_iter=10)(model, x, y, epsilons=[0.05, 0.1], lower=0.0, upper=1.0)
    assert (apgd.sum(axis=1) >= pgd.sum(axis=1)).all()


@pytest.mark.slow
def test_more_targets_never_weaken_apgd_t(data: dict[str, Any]) -> None:
    x, y, model = data["x"], data["y"], data["model"]
    eps = [0.08]
    _, _, one = APGDT(n_iter=10, n_targets=1)(model, x, y, epsilons=eps, lower=0.0, upper=1.0)
    _, _, all_ = APGDT(n_iter=10, n_targets=9)(model, x, y, epsilons=eps, lower=0.0, upper=1.0)
    assert np.all(all_ >= one) and all_.sum() > one.sum()


@pytest.mark.slow
@pytest.mark.parametrize(("n_classes", "eps"), [(2, 0.5), (3, 0.15)])
def test_dlr_losses_fall_back_to_margins_with_few_classes(n_classes: int, eps: float) -> None:
    rng = np.random.default_rng(5)
    x = rng.uniform(0.0, 1.0, size=(32, F)).astype(np.float32)
    model = TFModel(_linear(n_classes, seed=n_classes), bounds=(0.0, 1.0))
    y = model.predict_labels(x)
    for attack in (APGD(loss="dlr", n_iter=10), APGDT(n_iter=10)):
        _, clipped, success = attack(model, x, y, epsilons=[eps], lower=0.0, upper=1.0)
        assert np.isfinite(clipped[0]).all() and 0.25 < success.mean() < 1


@pytest.mark.slow
def test_attacks_are_pure_functions_of_their_seed(data: dict[str, Any]) -> None:
    x, y, model = data["x"], data["y"], data["model"]
    for make in (lambda s: APGD(n_iter=10, seed=s), lambda s: Square(n_queries=100, seed=s)):
        first = make(1).run(model, x, y, epsilon=0.1)
        np.testing.assert_array_equal(first, make(1).run(model, x, y, epsilon=0.1))
        assert not np.array_equal(first, make(2).run(model, x, y, epsilon=0.1))


def test_per_sample_epsilons_in_one_batch(data: dict[str, Any]) -> None:
    x, y, model = data["x"], data["y"], data["model"]
    budgets = np.where(np.arange(N) % 2 == 0, 0.0, 0.1).astype(np.float32)
    for attack in (APGD(n_iter=10), APGDT(n_iter=10), Square(n_queries=100), PGD(steps=10)):
        adv = attack.run_batch(model, x, y, epsilons=budgets)
        np.testing.assert_array_equal(adv[::2], x[::2])
        assert _norms(adv[1::2] - x[1::2], "linf").max() <= 0.1 + 1e-6


def test_apgd_checkpoints_follow_the_paper() -> None:
    # p = 0, 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99 (Croce & Hein 2020, section 3.2)
    assert checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]
    assert checkpoints(1000)[:3] == [220, 410, 570]
    assert checkpoints(1) == [1]


def test_square_window_schedule() -> None:
    assert window_fraction(0, 10000, 0.8) == 0.8
    assert window_fraction(11, 10000, 0.8) == 0.4
    assert window_fraction(500, 1000, 0.8) == 0.8 / 2**7  # 5000 of 10000 after rescaling
    assert window_fraction(9999, 10000, 0.8) == 0.8 / 2**9
    assert window_sides(0, 5000, 0.8, 8, 8) == (7, 7)  # sqrt(0.8 * 64) rounded
    assert window_sides(4999, 5000, 0.8, 8, 8) == (1, 1)
    assert window_sides(0, 5000, 0.8, 28, 28) == (25, 25)
    assert window_sides(0, 1000, 0.8, 1, 30) == (1, 24)  # tabular rows get segments


def test_l2_projection_of_a_broken_attack(data: dict[str, Any]) -> None:
    x = data["x"]
    far = np.clip(x + 0.5, 0.0, 1.0)
    projected = clip_perturbation(x, far, epsilon=0.3, lower=0.0, upper=1.0, norm="l2")
    assert _norms(projected - x, "l2").max() <= 0.3


@pytest.mark.parametrize("epsilon", [0.05, 0.03 * 255, 12.75, 100.3])
def test_linf_projection_stays_in_the_ball_on_0_255_data(epsilon: float) -> None:
    # float32 spacing is 1.5e-5 near 255: x + 0.05 used to round up to 3e-6 outside the ball,
    # so attack-test failed on 8-bit image folders at epsilons like 0.05 or the floor's 3% (7.65)
    x = np.arange(256, dtype=np.float32).reshape(4, 8, 8, 1)
    for far in (x + 300, x - 300):
        projected = clip_perturbation(x, far, epsilon=epsilon, lower=0.0, upper=255.0)
        check_perturbation(x, projected, epsilon=epsilon, lower=0.0, upper=255.0)
        delta = np.abs(projected.astype(np.float64) - x)
        assert projected.dtype == np.float32 and delta.max() <= epsilon + 1e-6
        assert np.all((delta >= epsilon - 1e-4) | (projected == 0) | (projected == 255))


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: APGD(loss="mse"), "APGD loss='mse'"),
        (lambda: APGD(n_iter=0), "APGD n_iter=0"),
        (lambda: APGD(rho=1.5), "APGD rho=1.5"),
        (lambda: APGDT(n_targets=0), "APGD-T n_targets=0"),
        (lambda: Square(n_queries=0), "Square n_queries=0"),
        (lambda: Square(p_init=0.0), "Square p_init=0.0"),
        (lambda: PGD(norm="l1"), "PGD norm='l1'"),
        (lambda: PGD(seed=2**31), "PGD seed="),
    ],
)
def test_bad_hyper_parameters_raise(make: Any, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment.replace("(", r"\(")):
        make()


def test_names_norms_and_repr() -> None:
    assert (PGD().name, PGD(norm="l2").name, PGD(norm="l2").norm) == ("pgd", "pgd_l2", "l2")
    assert (APGD().name, APGD(loss="dlr").name, APGDT().name) == ("apgd_ce", "apgd_dlr", "apgd_t")
    assert Square().params() == {"n_queries": 5000, "p_init": 0.8, "seed": 0}
    assert Square.needs_gradients is False and APGD.needs_gradients is True
    assert repr(APGDT(n_iter=10)) == (
        "APGDT(norm='linf', n_iter=10, n_targets=9, rho=0.75, seed=0)"
    )


def test_l2_budgets_may_exceed_the_range_width(data: dict[str, Any]) -> None:
    x, y, model = data["x"], data["y"], data["model"]
    _, clipped, success = PGD(norm="l2", steps=10)(
        model, x, y, epsilons=[1.5], lower=0.0, upper=1.0
    )  # sqrt(12) is the diagonal of the input box
    assert _norms(clipped[0] - x, "l2").max() <= 1.5 + 1e-6 and success.mean() > 0.5
    with pytest.raises(InvalidInputError, match="exceeds"):
        PGD(norm="l2", steps=10)(model, x, y, epsilons=[3.5], lower=0.0, upper=1.0)


@pytest.mark.slow
def test_apgd_seeds_restarts_and_targets_share_one_trace(
    data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # seed, restarts and n_targets are arguments of the compiled loop (Attack.call_params): one
    # trace per model and loss serves them all, and a run gives the same adversarials whether or
    # not other values ran first on that model
    from kfp_mlsecops.attacks import apgd

    builds: list[str] = []
    build = apgd.build_apgd

    def counted(model: TFModel, **kwargs: Any) -> Any:
        builds.append(str(kwargs["loss"]))
        return build(model, **kwargs)

    monkeypatch.setattr(apgd, "build_apgd", counted)
    x, y = data["x"], data["y"]
    model = TFModel(_linear(K), bounds=(0.0, 1.0))
    runs = {
        (s, r): APGD(n_iter=5, seed=s, restarts=r).run(model, x, y, epsilon=0.05)
        for s, r in ((1, 1), (2, 1), (2, 2))
    }
    for n_targets in (1, 3):
        APGDT(n_iter=5, n_targets=n_targets, seed=n_targets).run(model, x, y, epsilon=0.05)
    assert builds == ["ce", "dlr_targeted"]
    assert not np.array_equal(runs[1, 1], runs[2, 1])
    fresh = TFModel(_linear(K), bounds=(0.0, 1.0))
    alone = APGD(n_iter=5, seed=2, restarts=2).run(fresh, x, y, epsilon=0.05)
    np.testing.assert_array_equal(alone, runs[2, 2])
    assert builds == ["ce", "dlr_targeted", "ce"]


def test_call_params_are_params_the_loops_take_as_arguments() -> None:
    # a name in call_params that is not a hyper-parameter would be a typo that silently keys
    # nothing; Square bakes its seed into the trace, so it must not list it
    for attack in (PGD(), APGD(), APGDT(), Square()):
        assert attack.call_params <= attack.params().keys(), type(attack).__name__
    assert Square.call_params == frozenset()
