"""The two tiers and the masking flags on digits CNNs: standard, PGD-trained and masked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks import (
    PGD,
    Square,
    TFModel,
    evaluate_arrays,
    evaluate_robustness,
    load_attack_model,
)
from kfp_mlsecops.data.split_io import load_split
from kfp_mlsecops.errors import InvalidInputError

EPSILONS = [0.05, 0.1, 0.2]
#: Reliable tier with small budgets, so the tests stay fast (the defaults are much larger).
SMALL = {
    "apgd_ce": {"n_iter": 30},
    "apgd_t": {"n_iter": 10, "n_targets": 3},
    "square": {"n_queries": 300},
}


TINY = {
    "apgd_ce": {"n_iter": 10},
    "apgd_t": {"n_iter": 5, "n_targets": 2},
    "square": {"n_queries": 50},
}


def _accuracy(results: dict[str, Any], attack: str) -> dict[float, float]:
    rows = results["attacks"] if attack != C.WORST_CASE else results[C.WORST_CASE]
    return {
        r["epsilon"]: r[C.ROBUST_ACCURACY]
        for r in rows
        if attack == C.WORST_CASE or r["attack"] == attack
    }


def _flags(results: dict[str, Any]) -> dict[str, bool]:
    return {flag["id"]: flag["flagged"] for flag in results["masking"]}


@pytest.fixture(scope="module")
def test_arrays(digits_splits: tuple[Path, Path]) -> tuple[np.ndarray, np.ndarray]:
    split = load_split(digits_splits[1])
    keep = np.random.default_rng(0).permutation(len(split.y))[:120]
    return split.x[keep], split.y[keep]


@pytest.fixture(scope="module")
def standard(trained_model: Path, test_arrays: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    x, y = test_arrays
    model = TFModel(load_attack_model(trained_model), bounds=(0.0, 1.0))
    calls: list[tuple[str, int, int]] = []
    fast = evaluate_arrays(
        model=model,
        x=x,
        y=y,
        lower=0.0,
        upper=1.0,
        epsilons=EPSILONS,
        progress=lambda *call: calls.append(call),
    )
    reliable = evaluate_arrays(
        model=model,
        x=x,
        y=y,
        lower=0.0,
        upper=1.0,
        epsilons=EPSILONS,
        tier="reliable",
        attack_params=SMALL,
    )
    return {"fast": fast, "reliable": reliable, "calls": calls}


@pytest.mark.slow
def test_reliable_tier_is_stronger_than_the_fast_tier(standard: dict[str, Any]) -> None:
    fast, reliable = standard["fast"], standard["reliable"]
    assert reliable["tier"] == "reliable" and fast["tier"] == "fast"
    assert [r["attack"] for r in reliable["attacks"]] == [
        a for a in ("apgd_ce", "apgd_t", "square") for _ in EPSILONS
    ]
    assert [flag["id"] for flag in reliable["masking"]] == list(C.MASKING_FLAGS)
    pgd, apgd = _accuracy(fast, "pgd"), _accuracy(reliable, "apgd_ce")
    worst_fast, worst_reliable = _accuracy(fast, C.WORST_CASE), _accuracy(reliable, C.WORST_CASE)
    for eps in EPSILONS:
        assert apgd[eps] <= pgd[eps]
        assert worst_reliable[eps] <= worst_fast[eps]
        assert worst_reliable[eps] <= min(_accuracy(reliable, a)[eps] for a in ("apgd_t", "square"))
    assert worst_reliable[0.2] < worst_reliable[0.05] < reliable["clean_accuracy"]


@pytest.mark.slow
def test_plain_model_raises_no_masking_flag(standard: dict[str, Any]) -> None:
    for tier in ("fast", "reliable"):
        flags = standard[tier]["masking"]
        assert not any(f["flagged"] for f in flags), flags
        assert all(not f["detail"].startswith("not applicable") for f in flags)


@pytest.mark.slow
def test_progress_reports_every_stage(standard: dict[str, Any]) -> None:
    calls = standard["calls"]
    stages = [stage for stage, _, _ in calls]
    assert stages[0] == "clean" and stages[-1] == C.MASKING
    assert {"fgsm", "pgd"} <= set(stages)
    done = [d for _, d, _ in calls]
    assert done == sorted(done) and done[-1] == calls[-1][2]


@pytest.mark.slow
def test_masked_model_fools_gradients_not_square_and_is_flagged(
    masked_model: Any, test_arrays: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = test_arrays
    model = TFModel(masked_model, bounds=(0.0, 1.0))
    clean = float(np.mean(model.predict_labels(x) == y))
    assert clean > 0.8
    _, _, pgd = PGD()(model, x, y, epsilons=[0.2], lower=0.0, upper=1.0)
    _, _, square = Square(n_queries=300)(model, x, y, epsilons=[0.2], lower=0.0, upper=1.0)
    assert 1 - pgd.mean() > clean - 0.15  # gradients are zero: PGD barely moves it
    assert 1 - square.mean() < 0.3  # the same budget, queried without gradients
    for tier, params in (("fast", None), ("reliable", SMALL)):
        results = evaluate_arrays(
            model=model,
            x=x,
            y=y,
            lower=0.0,
            upper=1.0,
            epsilons=[0.1, 0.2],
            tier=tier,
            attack_params=params,
        )
        flags = _flags(results)
        assert flags["blackbox_beats_whitebox"] and flags["degenerate_gradients"], results
        assert flags["no_convergence_at_large_eps"]
        degenerate = next(f for f in results["masking"] if f["id"] == "degenerate_gradients")
        assert degenerate["measured"] == 1.0 and degenerate["threshold"] == 0.5
    assert _accuracy(results, C.WORST_CASE)[0.2] < 0.3  # the worst case is not fooled either


@pytest.mark.slow
def test_invariants_hold_on_a_pgd_trained_model(
    pgd_trained_model: Any, standard: dict[str, Any], test_arrays: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = test_arrays
    model = TFModel(pgd_trained_model, bounds=(0.0, 1.0))
    for tier, params in (("fast", None), ("reliable", SMALL)):
        results = evaluate_arrays(
            model=model,
            x=x,
            y=y,
            lower=0.0,
            upper=1.0,
            epsilons=[0.0, *EPSILONS],
            tier=tier,
            attack_params=params,
        )  # raises AttackError on any broken invariant
        worst = list(_accuracy(results, C.WORST_CASE).values())
        assert worst == sorted(worst, reverse=True) and worst[0] == results["clean_accuracy"]
        assert not any(_flags(results).values()), results["masking"]
        baseline = _accuracy(standard[tier], C.WORST_CASE)
        assert worst[3] > baseline[0.2] + 0.2  # clearly more robust than the standard model


@pytest.mark.slow
def test_savedmodel_export_and_keras_model_agree(
    keras_cnn: Any, test_arrays: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    from kfp_mlsecops.servable.export import export_savedmodel

    x, y = test_arrays[0][:64], test_arrays[1][:64]
    export_savedmodel(keras_cnn, tmp_path / C.SAVEDMODEL_VERSION_DIR, probe=x[:8])
    results = {}
    for name, model in (
        ("saved", load_attack_model(tmp_path / C.SAVEDMODEL_VERSION_DIR)),
        ("keras", keras_cnn),
    ):
        results[name] = evaluate_arrays(
            model=model, x=x, y=y, lower=0.0, upper=1.0, epsilons=[0.1], attacks=["pgd"]
        )
    saved, keras_model = results["saved"], results["keras"]
    assert saved["model_output"] == "log-probabilities"
    assert keras_model["model_output"] == "softmax-stripped"
    assert saved["clean_accuracy"] == keras_model["clean_accuracy"]
    assert (
        abs(
            saved["worst_case"][0]["robust_accuracy"]
            - keras_model["worst_case"][0]["robust_accuracy"]
        )
        <= 1 / 64
    )


@pytest.mark.slow
def test_logits_and_softmax_outputs_give_identical_reliable_results(
    keras_cnn: Any, test_arrays: tuple[np.ndarray, np.ndarray]
) -> None:
    import keras

    x, y = test_arrays[0][:64], test_arrays[1][:64]
    softmax_model = keras_cnn
    logits_model = keras.Model(softmax_model.inputs[0], softmax_model.get_layer("logits").output)
    out = [
        evaluate_arrays(
            model=network,
            x=x,
            y=y,
            lower=0.0,
            upper=1.0,
            epsilons=[0.1],
            tier="reliable",
            attack_params=TINY,
        )
        for network in (softmax_model, logits_model)
    ]
    assert [r["model_output"] for r in out] == ["softmax-stripped", "logits"]
    assert out[0]["attacks"] == out[1]["attacks"] and out[0]["worst_case"] == out[1]["worst_case"]


def test_l2_evaluation_lists_the_l2_invariant_and_refuses_mixed_norms(
    trained_model: Path, test_arrays: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = test_arrays[0][:48], test_arrays[1][:48]
    model = TFModel(load_attack_model(trained_model), bounds=(0.0, 1.0))
    results = evaluate_arrays(
        model=model, x=x, y=y, lower=0.0, upper=1.0, epsilons=[0.5, 1.5], attacks=["pgd_l2"]
    )  # 1.5 > the range width: fine for an L2 radius in 64 dimensions
    assert [i["name"] for i in results["invariants"]][-1] == "l2_ball"
    assert {r["norm"] for r in results["attacks"]} == {"l2"}
    flags = {f["id"]: f for f in results["masking"]}
    assert flags["blackbox_beats_whitebox"]["detail"].startswith("not applicable")
    assert flags["single_step_beats_iterative"]["detail"].startswith("not applicable")
    assert "pgd_l2 at epsilon 4" in flags["no_convergence_at_large_eps"]["detail"]
    with pytest.raises(InvalidInputError, match="mix norms"):
        evaluate_arrays(
            model=model, x=x, y=y, lower=0.0, upper=1.0, epsilons=[0.1], attacks=["pgd", "pgd_l2"]
        )


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"tier": "thorough"}, "tier='thorough'"),
        ({"attack_params": {"square": {"n_queries": 10}}}, "not run"),
        ({"attack_params": {"pgd": {"queries": 10}}}, "keyword arguments of PGD"),
        ({"attack_params": {"pgd": {"norm": "l2"}}}, "turn it into 'pgd_l2'"),
        ({"attacks": ["pgd"], "epsilons": [1.5]}, "exceeds the input range"),
    ],
)
def test_bad_evaluation_arguments(
    trained_model: Path, digits_splits: tuple[Path, Path], override: dict[str, Any], fragment: str
) -> None:
    kwargs: dict[str, Any] = {
        "model_path": trained_model,
        "test_path": digits_splits[1],
        "epsilons": [0.1],
    }
    kwargs.update(override)
    with pytest.raises(InvalidInputError, match=fragment):
        evaluate_robustness(**kwargs)


def test_load_attack_model_refuses_unknown_and_unsafe_models(tmp_path: Path) -> None:
    import tensorflow as tf

    with pytest.raises(InvalidInputError, match="nor saved_model.pb"):
        load_attack_model(tmp_path)
    weights = tmp_path / "model.h5"
    weights.write_bytes(b"\x89HDF")
    with pytest.raises(InvalidInputError, match="not a .keras file"):
        load_attack_model(weights)

    class Sneaky(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
        def serve(self, inputs: tf.Tensor) -> dict[str, tf.Tensor]:
            secret = tf.strings.length(tf.io.read_file("/etc/hostname"))
            return {"probabilities": tf.nn.softmax(inputs + tf.cast(secret, tf.float32))}

    module = Sneaky()
    signatures = {"serving_default": module.serve}
    tf.saved_model.save(module, str(tmp_path / "sneaky"), signatures=signatures)
    with pytest.raises(InvalidInputError, match="runs ReadFile"):
        load_attack_model(tmp_path / "sneaky")
