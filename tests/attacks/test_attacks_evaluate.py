"""Robustness evaluation of a CNN trained on 8x8 digits (real TF, one training per session)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks import (
    FGSM,
    PGD,
    TFModel,
    evaluate_robustness,
    load_attack_model,
    robustness_metrics,
    run_attack_test,
)
from kfp_mlsecops.attacks.results import RobustnessResults, evaluation_ids
from kfp_mlsecops.data.manifest import split_digest
from kfp_mlsecops.data.split_io import Split, load_split, save_split
from kfp_mlsecops.errors import InvalidInputError

EPSILONS = [0.2, 0.05, 0.1]  # deliberately unsorted


@pytest.fixture(scope="module")
def report(
    trained_model: Path, digits_splits: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("robustness")
    results = run_attack_test(
        model_path=trained_model,
        test_path=digits_splits[1],
        results_path=out / "results.json",
        report_md_path=out / "report.md",
        epsilons="0.2,0.05,0.1",
    )
    return {"results": results, "json": out / "results.json", "md": out / "report.md"}


def _rows(results: dict[str, Any], attack: str) -> list[float]:
    by_eps = {
        r["epsilon"]: r[C.ROBUST_ACCURACY] for r in results["attacks"] if r["attack"] == attack
    }
    return [by_eps[eps] for eps in sorted(EPSILONS)]


def test_results_follow_the_schema(
    report: dict[str, Any], digits_splits: tuple[Path, Path]
) -> None:
    results = report["results"]
    assert json.loads(report["json"].read_text()) == results
    assert results["schema"] == C.ROBUSTNESS_SCHEMA
    assert results["tier"] == "fast"
    assert [flag["id"] for flag in results["masking"]] == list(C.MASKING_FLAGS)
    assert not any(flag["flagged"] for flag in results["masking"])
    assert results["n_samples"] == len(load_split(digits_splits[1]).y)
    assert results["epsilons"] == sorted(EPSILONS)
    assert results["clean_accuracy"] >= 0.9
    assert results["model_output"] == "log-probabilities"  # a model folder is its SavedModel
    assert [(r["attack"], r["epsilon"]) for r in results["attacks"]] == [
        (a, e) for a in ("fgsm", "pgd") for e in sorted(EPSILONS)
    ]
    assert all(r["norm"] == "linf" for r in results["attacks"])
    pgd_params = next(r["params"] for r in results["attacks"] if r["attack"] == "pgd")
    assert pgd_params == {
        "norm": "linf",
        "steps": 20,
        "rel_stepsize": 0.125,
        "restarts": 1,
        "random_start": True,
        "early_stop": True,
        "precision": "float32",  # a SavedModel has no bfloat16 copy: what actually ran
        "seed": 0,
    }
    assert [w["epsilon"] for w in results[C.WORST_CASE]] == sorted(EPSILONS)
    assert [i["name"] for i in results["invariants"]] == list(C.ROBUSTNESS_INVARIANTS)
    assert results["wall_time_s"] > 0
    # v2: what the gate needs to re-derive the figures
    split = load_split(digits_splits[1])
    assert results[C.TEST_DATA_DIGEST] == split_digest(split)
    assert results[C.MODEL_DIGEST].startswith("sha256:")
    assert results[C.EVALUATION] == {"split_size": len(split.y), "max_samples": 0, "seed": 0}
    typed = RobustnessResults.read(report["json"])
    assert typed.to_dict() == results
    assert typed.sample_ids.tolist() == list(range(len(split.y)))
    assert typed.clean_bits().mean() == results["clean_accuracy"]
    assert typed.worst_case_survived(0.2).mean() == results[C.WORST_CASE][-1][C.ROBUST_ACCURACY]


def test_attacks_hurt_and_pgd_is_at_least_as_strong_as_fgsm(report: dict[str, Any]) -> None:
    results = report["results"]
    fgsm, pgd = _rows(results, "fgsm"), _rows(results, "pgd")
    worst = [w[C.ROBUST_ACCURACY] for w in results[C.WORST_CASE]]
    assert all(p <= f for p, f in zip(pgd, fgsm, strict=True))
    assert fgsm[-1] < results["clean_accuracy"] - 0.3  # eps 0.2 on [0, 1] digits is a big budget
    assert worst == sorted(worst, reverse=True)
    assert all(w <= min(f, p) for w, f, p in zip(worst, fgsm, pgd, strict=True))
    assert pgd == sorted(pgd, reverse=True)


def test_markdown_report_and_kfp_metrics(report: dict[str, Any]) -> None:
    results = report["results"]
    text = report["md"].read_text()
    assert "| attack (L-inf) | eps=0.05 | eps=0.1 | eps=0.2 |" in text
    assert f"**{results['clean_accuracy']:.4f}**" in text
    assert "**worst case**" in text
    for name in C.ROBUSTNESS_INVARIANTS:
        assert f"`{name}`" in text
    metrics = robustness_metrics(results)
    assert metrics[C.CLEAN_ACCURACY] == results["clean_accuracy"]
    assert metrics[C.robust_metric_name("pgd", 0.1)] == _rows(results, "pgd")[1]
    assert (
        metrics[C.robust_metric_name(C.WORST_CASE, 0.2)]
        == results[C.WORST_CASE][-1][C.ROBUST_ACCURACY]
    )
    assert len(metrics) == 1 + 2 * 3 + 3


def test_direct_attack_respects_ball_range_and_eps_zero(
    trained_model: Path, digits_splits: tuple[Path, Path]
) -> None:
    test = load_split(digits_splits[1])
    x, y = test.x[:100], test.y[:100]
    model = TFModel(load_attack_model(trained_model), bounds=(0.0, 1.0))
    clean_wrong = model.predict_labels(x) != y
    for attack in (FGSM(), PGD(steps=10)):
        raw, clipped, success = attack(model, x, y, epsilons=[0.0, 0.1], lower=0.0, upper=1.0)
        assert success.shape == (2, 100)
        np.testing.assert_array_equal(clipped[0], x)
        np.testing.assert_array_equal(success[0], clean_wrong)
        assert np.abs(clipped[1] - x).max() <= 0.1 + 1e-6
        assert clipped[1].min() >= 0.0 and clipped[1].max() <= 1.0
        assert success[1].sum() > clean_wrong.sum()


@pytest.mark.slow
def test_softmax_and_logits_cnn_agree(keras_cnn: Any, digits_splits: tuple[Path, Path]) -> None:
    import keras

    test = load_split(digits_splits[1])
    x, y = test.x[:128], test.y[:128]
    softmax_model = keras_cnn
    logits_model = keras.Model(softmax_model.inputs[0], softmax_model.get_layer("logits").output)
    successes = []
    for network in (softmax_model, logits_model):
        wrapped = TFModel(network, bounds=(0.0, 1.0))
        _, _, success = PGD(steps=10)(wrapped, x, y, epsilons=[0.1], lower=0.0, upper=1.0)
        successes.append(success)
    assert TFModel(logits_model, bounds=(0.0, 1.0)).output_kind == "logits"
    np.testing.assert_array_equal(successes[0], successes[1])


@pytest.mark.slow
def test_more_restarts_never_weaken_pgd(
    trained_model: Path, digits_splits: tuple[Path, Path]
) -> None:
    test = load_split(digits_splits[1])
    x, y = test.x[:128], test.y[:128]
    model = TFModel(load_attack_model(trained_model), bounds=(0.0, 1.0))
    _, _, one = PGD(steps=5)(model, x, y, epsilons=[0.05], lower=0.0, upper=1.0)
    _, _, three = PGD(steps=5, restarts=3)(model, x, y, epsilons=[0.05], lower=0.0, upper=1.0)
    assert np.all(three >= one)  # a sample fooled by restart 0 stays fooled


@pytest.mark.slow
def test_subset_single_attack_and_determinism(
    trained_model: Path, digits_splits: tuple[Path, Path]
) -> None:
    kwargs: dict[str, Any] = {
        "model_path": trained_model,
        "test_path": digits_splits[1],
        "epsilons": [0.1],
        "attacks": ["pgd"],
        "pgd_steps": 5,
        "max_samples": 64,
        "batch_size": 40,
        "seed": 3,
    }
    first, second = evaluate_robustness(**kwargs), evaluate_robustness(**kwargs)
    assert first["n_samples"] == 64
    assert first[C.EVALUATION] == {"split_size": 360, "max_samples": 64, "seed": 3}
    assert first[C.SAMPLES]["ids"] == evaluation_ids(360, 64, 3).tolist()
    assert first[C.SAMPLES] == second[C.SAMPLES]
    assert [r["attack"] for r in first["attacks"]] == ["pgd"]
    assert first["attacks"] == second["attacks"] and first[C.WORST_CASE] == second[C.WORST_CASE]
    assert first[C.WORST_CASE][0][C.ROBUST_ACCURACY] == first["attacks"][0][C.ROBUST_ACCURACY]


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"epsilons": [-0.1]}, "must be a finite number >= 0"),
        ({"epsilons": [float("nan")]}, "must be a finite number >= 0"),
        ({"epsilons": []}, "at least one"),
        ({"epsilons": [2.0]}, "exceeds the input range"),
        ({"attacks": ["cw"]}, "distinct names"),
        ({"attacks": []}, "distinct names"),
        ({"attacks": ["pgd", "pgd"]}, "distinct names"),
        ({"pgd_steps": 0}, "pgd_steps=0"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"max_samples": -1}, "max_samples=-1"),
    ],
)
def test_bad_arguments_raise_invalid_input(
    trained_model: Path,
    digits_splits: tuple[Path, Path],
    override: dict[str, Any],
    fragment: str,
    tmp_path: Path,
) -> None:
    kwargs: dict[str, Any] = {
        "model_path": trained_model,
        "test_path": digits_splits[1],
        "results_path": tmp_path / "r.json",
        "report_md_path": tmp_path / "r.md",
        "epsilons": [0.1],
    }
    kwargs.update(override)
    with pytest.raises(InvalidInputError, match=fragment):
        run_attack_test(**kwargs)
    assert list(tmp_path.iterdir()) == []


def test_string_epsilons_with_junk_are_refused(
    trained_model: Path, digits_splits: tuple[Path, Path], tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match="not a number"):
        run_attack_test(
            model_path=trained_model,
            test_path=digits_splits[1],
            results_path=tmp_path / "r.json",
            report_md_path=tmp_path / "r.md",
            epsilons="0.1,big",
        )


def test_model_and_split_must_match(
    trained_model: Path, digits_splits: tuple[Path, Path], tmp_path: Path
) -> None:
    test = load_split(digits_splits[1])
    flat = save_split(
        tmp_path / "flat.npz", Split(test.x.reshape(len(test.y), -1), test.y, 0.0, 1.0, 10)
    )
    with pytest.raises(InvalidInputError, match="use the matching model"):
        evaluate_robustness(model_path=trained_model, test_path=flat, epsilons=[0.1])
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(b"\x80\x04N.")
    with pytest.raises(InvalidInputError, match="not a .keras file or a folder"):
        evaluate_robustness(model_path=pickled, test_path=digits_splits[1], epsilons=[0.1])
