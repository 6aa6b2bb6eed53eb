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
