"""Re-attacking evaluated points reproduces the evaluation's per-sample outcomes exactly.

This is what lets the gate re-derive the robustness evidence with no false blocks: it re-runs the
declared attacks on a random subset of the evaluated rows (their row indices key the attacks'
randomness), in its own batch size, epsilon by epsilon on the survivors as the evaluation did,
and every survived/broken bit must come out the same. Both tiers, a standard CNN loaded from its
model folder (SavedModel) and a PGD-trained Keras CNN (bfloat16 PGD gradients where the CPU has
them), two seeds, subsets in batches of 1, 7 and 64.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks import RobustnessResults, TFModel, evaluate_arrays, reattack
from kfp_mlsecops.attacks.loading import load_attack_model
from kfp_mlsecops.data.split_io import load_split

EPSILONS = [0.05, 0.1, 0.2]
MAX_SAMPLES = 150
#: Reliable tier with small budgets so the test stays within a few minutes.
SMALL = {
    "apgd_ce": {"n_iter": 30},
    "apgd_t": {"n_iter": 10, "n_targets": 3},
    "square": {"n_queries": 300},
}


def reproduce(
    model: TFModel,
    x: np.ndarray,
    y: np.ndarray,
    results: RobustnessResults,
    *,
    rows: np.ndarray,
    batch_size: int,
) -> dict[str, int]:
    """Re-run every declared attack on ``rows`` (split indices); return differing bits per attack.

    Each attack runs epsilon by epsilon on the rows that survived it at the previous epsilon,
    starting from the rows the results mark clean-correct, as the evaluation's sweep does.
    """
    position = np.searchsorted(results.sample_ids, rows)
    assert np.array_equal(results.sample_ids[position], rows)
    differing = {}
    for name, params in results.attack_params().items():
        alive = results.clean_bits()[position]
        wrong = 0
        for eps in results.epsilons:
            todo = rows[alive]
            if len(todo):
                survived = reattack(
                    model,
                    x[todo],
                    y[todo],
                    sample_ids=todo,
                    attacks={name: params},
                    epsilon=eps,
                    batch_size=batch_size,
                )[name]
                alive[np.flatnonzero(alive)] = survived
            wrong += int(np.sum(alive != results.survived(name, eps)[position]))
        differing[name] = wrong
    return differing


@pytest.fixture(scope="module")
def split(digits_splits: tuple[Path, Path]) -> Any:
    return load_split(digits_splits[1])


@pytest.fixture(scope="module")
def models(trained_model: Path, pgd_trained_model: Any) -> dict[str, TFModel]:
    return {
        "standard (SavedModel folder)": TFModel(
            load_attack_model(trained_model), bounds=(0.0, 1.0)
        ),
        "PGD-trained (Keras)": TFModel(pgd_trained_model, bounds=(0.0, 1.0)),
    }


@pytest.mark.slow
@pytest.mark.parametrize("tier", C.TIERS)
@pytest.mark.parametrize("seed", [0, 1])
def test_reattacking_subsets_reproduces_every_outcome(
    models: dict[str, TFModel], split: Any, tier: str, seed: int
) -> None:
    rng = np.random.default_rng(100 + seed)
    for label, model in models.items():
        doc = evaluate_arrays(
            model=model,
            x=split.x,
            y=split.y,
            lower=split.lower,
            upper=split.upper,
            epsilons=EPSILONS,
            tier=tier,
            attack_params=SMALL if tier == C.TIER_RELIABLE else None,
            max_samples=MAX_SAMPLES,
            batch_size=256,
            seed=seed,
        )
        results = RobustnessResults.from_dict(doc)
        robust = results.sample_ids[results.worst_case_survived(EPSILONS[1])]
        broken = results.sample_ids[~results.worst_case_survived(EPSILONS[0])]
        assert len(robust) >= 3 and len(broken) >= 3, (label, tier, seed)
        subsets = {
            1: np.sort(np.concatenate([robust[:3], broken[-3:]])),  # both outcomes, one by one
            7: np.sort(rng.choice(results.sample_ids, size=40, replace=False)),
            64: results.sample_ids[::3],
        }
        for batch_size, rows in subsets.items():
            differing = reproduce(
                model, split.x, split.y, results, rows=rows, batch_size=batch_size
            )
            assert not any(differing.values()), (label, tier, seed, batch_size, differing)
