"""Attacks against tiny models whose gradients we can compute by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kfp_mlsecops.attacks import FGSM, PGD, TFModel
from kfp_mlsecops.errors import AttackError, InvalidInputError

N, F, K = 48, 6, 4


@pytest.fixture(scope="module")
def linear() -> dict[str, Any]:
    rng = np.random.default_rng(7)
    return {
        "w": rng.normal(size=(F, K)).astype(np.float32),
        "b": rng.normal(size=(K,)).astype(np.float32),
        "x": rng.uniform(0.0, 1.0, size=(N, F)).astype(np.float32),
        "y": rng.integers(0, K, size=N).astype(np.int64),
    }


def _dense(linear: dict[str, Any], activation: str | None) -> Any:
    import keras

    inputs = keras.Input((F,))
    layer = keras.layers.Dense(K, activation=activation)
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights([linear["w"], linear["b"]])
    return model


def build_variant(linear: dict[str, Any], variant: str) -> Any:
    """The same linear classifier expressed four ways."""
    import keras

    if variant == "dense-softmax":
        return _dense(linear, "softmax")
    logits_model = _dense(linear, None)
    if variant == "logits":
        return logits_model
    if variant == "softmax-layer":
        return keras.Model(logits_model.inputs[0], keras.layers.Softmax()(logits_model.outputs[0]))
    # the softmax is hidden inside a nested model: only the output values reveal probabilities
    inner = _dense(linear, "softmax")
    inputs = keras.Input((F,))
    return keras.Model(inputs, inner(inputs))


def numpy_fgsm(linear: dict[str, Any], eps: float) -> tuple[np.ndarray, np.ndarray]:
    """FGSM for softmax(xW + b) with cross-entropy: grad_x = (p - onehot(y)) W^T."""
    x, y, w, b = (linear[k].astype(np.float64) for k in ("x", "y", "w", "b"))
    z = x @ w + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    grad = (p - np.eye(K)[y.astype(int)]) @ w.T
    return np.clip(x + eps * np.sign(grad), 0.0, 1.0), grad


VARIANTS = {
    "dense-softmax": "softmax-stripped",
    "softmax-layer": "softmax-stripped",
    "logits": "logits",
    "nested-softmax": "log-probabilities",
}


@pytest.mark.parametrize(("variant", "kind"), VARIANTS.items())
def test_fgsm_matches_numpy_reference(linear: dict[str, Any], variant: str, kind: str) -> None:
    model = TFModel(build_variant(linear, variant), bounds=(0.0, 1.0))
    assert model.output_kind == kind
    epsilons = [0.0, 0.1, 0.3]
    raw, clipped, success = FGSM()(
        model, linear["x"], linear["y"], epsilons=epsilons, lower=0.0, upper=1.0
    )
    assert success.shape == (3, N) and success.dtype == bool
    np.testing.assert_array_equal(clipped[0], linear["x"])
    for i, eps in enumerate(epsilons[1:], start=1):
        expected, grad = numpy_fgsm(linear, eps)
        decisive = np.abs(grad) > 1e-5  # float32 vs float64 may disagree on the sign of ~0
        assert decisive.mean() > 0.95
        np.testing.assert_allclose(clipped[i][decisive], expected[decisive], atol=1e-6)
        z = expected @ linear["w"] + linear["b"]
        np.testing.assert_array_equal(success[i], z.argmax(axis=1) != linear["y"])
        assert 0 < success[i].mean() < 1


@pytest.mark.slow
def test_softmax_and_logits_models_give_identical_adversarials(linear: dict[str, Any]) -> None:
    results = {}
    for variant in VARIANTS:
        model = TFModel(build_variant(linear, variant), bounds=(0.0, 1.0))
        _, clipped, success = PGD(steps=10)(
            model, linear["x"], linear["y"], epsilons=[0.1, 0.2], lower=0.0, upper=1.0
        )
        results[variant] = (clipped, success)
    reference_clipped, reference_success = results["logits"]
    for variant, (clipped, success) in results.items():
        np.testing.assert_array_equal(success, reference_success, err_msg=variant)
        for got, want in zip(clipped, reference_clipped, strict=True):
            np.testing.assert_allclose(got, want, atol=1e-5, err_msg=variant)


def test_explicit_output_kind_overrides_detection(linear: dict[str, Any]) -> None:
    assert (
        TFModel(_dense(linear, None), bounds=(0, 1), output="probabilities").output_kind
        == "log-probabilities"
    )
    assert (
        TFModel(_dense(linear, "softmax"), bounds=(0, 1), output="logits").output_kind == "logits"
    )
    with pytest.raises(InvalidInputError, match="output='scores'"):
        TFModel(_dense(linear, None), bounds=(0, 1), output="scores")
    with pytest.raises(InvalidInputError, match="bounds"):
        TFModel(_dense(linear, None), bounds=(1, 0))


class _OutOfBall(FGSM):
    """A broken attack: steps far outside the epsilon ball and the input range."""

    name = "out-of-ball"

    def run(
        self,
        model: TFModel,
        inputs: np.ndarray,
        labels: np.ndarray,
        *,
        epsilon: float,
        sample_ids: np.ndarray | None = None,
    ) -> np.ndarray:
        return inputs + 10.0 * epsilon + 5.0


class _NaNAttack(FGSM):
    name = "nan"

    def run(
        self,
        model: TFModel,
        inputs: np.ndarray,
        labels: np.ndarray,
        *,
        epsilon: float,
        sample_ids: np.ndarray | None = None,
    ) -> np.ndarray:
        return np.full_like(inputs, np.nan)


class _WrongShape(FGSM):
    name = "wrong-shape"

    def run(
        self,
        model: TFModel,
        inputs: np.ndarray,
        labels: np.ndarray,
        *,
        epsilon: float,
        sample_ids: np.ndarray | None = None,
    ) -> np.ndarray:
        return inputs[:-1]


def test_base_class_projects_a_broken_attack_back_into_the_ball(linear: dict[str, Any]) -> None:
    raw, clipped, _ = _OutOfBall()(
        _dense(linear, None), linear["x"], linear["y"], epsilons=[0.05], lower=0.0, upper=1.0
    )
    assert np.abs(raw[0] - linear["x"]).max() > 5
    assert np.abs(clipped[0] - linear["x"]).max() <= 0.05 + 1e-6
    assert clipped[0].min() >= 0.0 and clipped[0].max() <= 1.0


@pytest.mark.parametrize(
    ("attack", "message"), [(_NaNAttack(), "non-finite"), (_WrongShape(), "shape")]
)
def test_broken_attack_outputs_raise_attack_error(
    linear: dict[str, Any], attack: FGSM, message: str
) -> None:
    with pytest.raises(AttackError, match=message):
        attack(_dense(linear, None), linear["x"], linear["y"], epsilons=[0.1], lower=0.0, upper=1.0)


def test_attack_call_validates_inputs(linear: dict[str, Any]) -> None:
    model = _dense(linear, None)
    x, y = linear["x"], linear["y"]
    with pytest.raises(InvalidInputError, match="within"):
        FGSM()(model, x + 2.0, y, epsilons=[0.1], lower=0.0, upper=1.0)
    with pytest.raises(InvalidInputError, match="labels must lie"):
        FGSM()(model, x, y + K, epsilons=[0.1], lower=0.0, upper=1.0)
    with pytest.raises(InvalidInputError, match="model expects"):
        FGSM()(model, x[:, :3], y, epsilons=[0.1], lower=0.0, upper=1.0)
    with pytest.raises(InvalidInputError, match="epsilon"):
        FGSM()(model, x, y, epsilons=[float("nan")], lower=0.0, upper=1.0)
    wrapped = TFModel(model, bounds=(0.0, 1.0))
    with pytest.raises(InvalidInputError, match="bounds"):
        FGSM()(wrapped, x, y, epsilons=[0.1], lower=0.0, upper=2.0)


def test_pgd_hyper_parameters_are_keyword_only_validated_and_shown() -> None:
    assert repr(PGD(steps=10, seed=3, precision="float32")) == (
        "PGD(norm='linf', steps=10, rel_stepsize=0.25, restarts=1, random_start=True, "
        "early_stop=True, precision='float32', seed=3)"
    )
    assert repr(FGSM()) == "FGSM()"
    with pytest.raises(TypeError):
        PGD(10)  # type: ignore[misc]
    bad_values = (
        {"steps": 0},
        {"restarts": 0},
        {"rel_stepsize": float("inf")},
        {"seed": -1},
        {"precision": "float16"},
    )
    for bad in bad_values:
        with pytest.raises(InvalidInputError):
            PGD(**bad)  # type: ignore[arg-type]


def test_pgd_is_a_pure_function_of_its_inputs(linear: dict[str, Any]) -> None:
    # one short step: the random start still shows (a linear model's PGD converges to one corner)
    model = TFModel(_dense(linear, None), bounds=(0.0, 1.0))
    first = PGD(steps=1, rel_stepsize=0.5, seed=1).run(model, linear["x"], linear["y"], epsilon=0.2)
    again = PGD(steps=1, rel_stepsize=0.5, seed=1).run(model, linear["x"], linear["y"], epsilon=0.2)
    other = PGD(steps=1, rel_stepsize=0.5, seed=2).run(model, linear["x"], linear["y"], epsilon=0.2)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_pgd_seeds_share_one_trace(linear: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # the seed is an argument of the compiled loop: a seed-averaged run traces once, and a seed
    # gives the same adversarials whether or not other seeds ran first
    builds: list[int] = []
    build = PGD._build

    def counted(self: PGD, model: TFModel) -> Any:
        builds.append(self.seed)
        return build(self, model)

    monkeypatch.setattr(PGD, "_build", counted)
    model = TFModel(_dense(linear, None), bounds=(0.0, 1.0))
    x, y = linear["x"], linear["y"]
    runs = {
        s: PGD(steps=1, rel_stepsize=0.5, seed=s, precision="float32").run(model, x, y, epsilon=0.2)
        for s in (1, 2, 3)
    }
    assert builds == [1]
    fresh = TFModel(_dense(linear, None), bounds=(0.0, 1.0))
    alone = PGD(steps=1, rel_stepsize=0.5, seed=3, precision="float32").run(
        fresh, x, y, epsilon=0.2
    )
    np.testing.assert_array_equal(alone, runs[3])
    assert not np.array_equal(runs[1], runs[2])


def numpy_pgd(
    linear: dict[str, Any], start: np.ndarray, *, eps: float, steps: int, early_stop: bool
) -> np.ndarray:
    """L-inf PGD for logits ``xW + b`` in float32 from ``start``, one restart.

    With ``early_stop`` a sample keeps its first misclassified iterate; else the last one.
    """
    x, y, w, b = linear["x"], linear["y"], linear["w"], linear["b"]
    size = np.float32(0.25) * np.float32(eps)  # rel_stepsize * epsilon, as PGD computes it
    adv, kept = start.astype(np.float32), np.full(len(x), -1)
    result = adv.copy()
    for i in range(steps):
        z = adv @ w + b
        if early_stop:
            new = (z.argmax(1) != y) & (kept < 0)
            result[new], kept[new] = adv[new], i
        p = np.exp(z - z.max(axis=1, keepdims=True))
        grad = (p / p.sum(axis=1, keepdims=True) - np.eye(K, dtype=np.float32)[y]) @ w.T
        delta = np.clip(adv + size * np.sign(grad) - x, -np.float32(eps), np.float32(eps))
        adv = np.clip(x + delta, 0.0, 1.0).astype(np.float32)
    result[kept < 0] = adv[kept < 0]
    return result


@pytest.mark.parametrize("early_stop", [True, False])
def test_float32_pgd_loop_matches_a_numpy_reference(
    linear: dict[str, Any], early_stop: bool
) -> None:
    # the compiled loop (compaction of broken samples, decisions from the gradient pass's own
    # logits) is plain PGD: same start, steps, projection and kept iterate as a numpy loop
    import tensorflow as tf

    from kfp_mlsecops.attacks import _keyed, _tf

    eps, steps = 0.2, 6
    model = TFModel(_dense(linear, None), bounds=(0.0, 1.0))
    attack = PGD(steps=steps, rel_stepsize=0.25, seed=4, early_stop=early_stop, precision="float32")
    ours = attack.run(model, linear["x"], linear["y"], epsilon=eps)
    start = _tf.random_start(
        tf.constant(linear["x"]),
        tf.fill([N], eps),
        norm="linf",
        ids=tf.range(N, dtype=tf.int64),
        seed=4,
        stream=_keyed.PGD_START,
        counter=0,
        bounds=(0.0, 1.0),
    ).numpy()
    reference = numpy_pgd(linear, start, eps=eps, steps=steps, early_stop=early_stop)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)
    assert np.abs(ours - linear["x"]).max() <= eps + 1e-6
    fooled = model.predict_labels(ours) != linear["y"]
    assert 0 < fooled.sum() < N
