"""Compute the four gradient-masking flags, running the extra attacks each one needs.

- ``degenerate_gradients``: one gradient pass over the clean samples.
- ``single_step_beats_iterative``: FGSM (run here when the tier has none) vs every iterative
  white-box attack of the evaluation, at the requested epsilons.
- ``blackbox_beats_whitebox``: Square vs the white-box attacks. The reliable tier runs Square
  itself; the fast tier runs a small Square (``FAST_SQUARE_QUERIES`` queries) on a seeded subset
  of ``FAST_SQUARE_SAMPLES`` at the largest requested epsilon, where masking shows most.
- ``no_convergence_at_large_eps``: an iterative white-box attack at a large epsilon.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks._sweep import sweep
from kfp_mlsecops.attacks.base import Attack
from kfp_mlsecops.attacks.masking import (
    BLACKBOX,
    NO_CONVERGENCE,
    SINGLE_STEP,
    MaskingThresholds,
    accuracy_gap_flag,
    degenerate_flag,
    degenerate_gradient_fractions,
    no_convergence_flag,
    not_applicable,
)
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.attacks.tiers import build_attack

FAST_SQUARE_SAMPLES = 100
FAST_SQUARE_QUERIES = 300
#: Iterative white-box attacks, in the order preferred for the large-epsilon check.
ITERATIVE = ("apgd_ce", "pgd", "pgd_l2", "apgd_t")


def diagnose(
    *,
    model: TFModel,
    x: np.ndarray,
    y: np.ndarray,
    sample_ids: np.ndarray,
    tier: str,
    norm: str,
    instances: Mapping[str, Attack],
    correct: Mapping[str, np.ndarray],
    grid: Sequence[float],
    diameter: float,
    batch_size: int,
    seed: int,
    pgd_steps: int,
    thresholds: MaskingThresholds,
    tick: Callable[[], None],
) -> list[dict[str, Any]]:
    """Return the flags in ``constants.MASKING_FLAGS`` order (see the module docstring).

    ``sample_ids`` key each sample's attack randomness, as in the evaluation's own sweeps.
    """
    requested = [i for i, eps in enumerate(grid) if eps > 0]
    whitebox = [n for n, a in instances.items() if a.needs_gradients]
    clean = next(iter(correct.values()))[0]

    def by_epsilon(names: Sequence[str], rows: Mapping[str, np.ndarray]) -> dict[str, Any]:
        return {n: {grid[i]: rows[n][i] for i in requested} for n in names}

    margin_fraction, ce_fraction = degenerate_gradient_fractions(model, x, y, batch_size=batch_size)
    degenerate = degenerate_flag(
        margin_fraction=margin_fraction,
        ce_fraction=ce_fraction,
        threshold=thresholds.max_degenerate_fraction,
    )
    tick()

    single_step = _single_step(
        model,
        x,
        y,
        sample_ids,
        norm=norm,
        instances=instances,
        correct=correct,
        grid=grid,
        requested=requested,
        batch_size=batch_size,
        margin=thresholds.single_step_margin,
        z=thresholds.z,
        by_epsilon=by_epsilon,
    )
    blackbox = _blackbox(
        model,
        x,
        y,
        sample_ids,
        norm=norm,
        whitebox=whitebox,
        correct=correct,
        grid=grid,
        requested=requested,
        batch_size=batch_size,
        seed=seed,
        margin=thresholds.blackbox_margin,
        z=thresholds.z,
        by_epsilon=by_epsilon,
    )
    tick()

    large = max(thresholds.large_epsilon_fraction * diameter, grid[-1])
    probe = next((n for n in ITERATIVE if n in instances), None)
    if probe is not None and grid[-1] >= large:
        accuracy = float(correct[probe][-1].mean())
    else:
        attack = (
            instances[probe]
            if probe is not None
            else build_attack(
                "pgd_l2" if norm == "l2" else ("apgd_ce" if tier == C.TIER_RELIABLE else "pgd"),
                seed=seed,
                pgd_steps=pgd_steps,
            )
        )
        survived = sweep(
            attack,
            model,
            x[clean],
            y[clean],
            grid=[large],
            batch_size=batch_size,
            sample_ids=sample_ids[clean],
        )
        accuracy = float(survived[0].sum()) / len(y)
        probe = attack.name
    no_convergence = no_convergence_flag(
        attack=probe,
        epsilon=large,
        accuracy=accuracy,
        threshold=thresholds.max_accuracy_at_large_epsilon,
    )
    tick()
    flags = {
        BLACKBOX: blackbox,
        SINGLE_STEP: single_step,
        NO_CONVERGENCE: no_convergence,
        degenerate["id"]: degenerate,
    }
    return [flags[flag_id] for flag_id in C.MASKING_FLAGS]


def _single_step(
    model: TFModel,
    x: np.ndarray,
    y: np.ndarray,
    sample_ids: np.ndarray,
    *,
    norm: str,
    instances: Mapping[str, Attack],
    correct: Mapping[str, np.ndarray],
    grid: Sequence[float],
    requested: Sequence[int],
    batch_size: int,
    margin: float,
    z: float,
    by_epsilon: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    threshold = margin
    iterative = [n for n in ITERATIVE if n in instances and instances[n].norm == "linf"]
    if norm != "linf":
        return not_applicable(SINGLE_STEP, threshold=threshold, reason="FGSM is an L-inf attack")
    if not iterative:
        return not_applicable(
            SINGLE_STEP, threshold=threshold, reason="no iterative white-box attack ran"
        )
    if not requested:
        return not_applicable(SINGLE_STEP, threshold=threshold, reason="no epsilon above 0")
    rows = dict(correct)
    if "fgsm" not in rows:
        rows["fgsm"] = sweep(
            build_attack("fgsm"),
            model,
            x,
            y,
            grid=grid,
            batch_size=batch_size,
            sample_ids=sample_ids,
        )
    measured = by_epsilon(["fgsm", *iterative], rows)
    return accuracy_gap_flag(
        SINGLE_STEP,
        probe="fgsm",
        probe_survived=measured["fgsm"],
        references={n: measured[n] for n in iterative},
        margin=margin,
        z=z,
    )


def _blackbox(
    model: TFModel,
    x: np.ndarray,
    y: np.ndarray,
    sample_ids: np.ndarray,
    *,
    norm: str,
    whitebox: Sequence[str],
    correct: Mapping[str, np.ndarray],
    grid: Sequence[float],
    requested: Sequence[int],
    batch_size: int,
    seed: int,
    margin: float,
    z: float,
    by_epsilon: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    threshold = margin
    if norm != "linf":
        return not_applicable(BLACKBOX, threshold=threshold, reason="Square is an L-inf attack")
    if not whitebox:
        return not_applicable(BLACKBOX, threshold=threshold, reason="no white-box attack ran")
    if not requested:
        return not_applicable(BLACKBOX, threshold=threshold, reason="no epsilon above 0")
    if "square" in correct:
        measured = by_epsilon(["square", *whitebox], correct)
        return accuracy_gap_flag(
            BLACKBOX,
            probe="square",
            probe_survived=measured["square"],
            references={n: measured[n] for n in whitebox},
            margin=margin,
            z=z,
        )
    rng = np.random.default_rng(seed)
    subset = np.sort(rng.permutation(len(y))[: min(FAST_SQUARE_SAMPLES, len(y))])
    largest = requested[-1]
    square = build_attack("square", seed=seed, overrides={"n_queries": FAST_SQUARE_QUERIES})
    survived = sweep(
        square,
        model,
        x[subset],
        y[subset],
        grid=[0.0, grid[largest]],
        batch_size=batch_size,
        sample_ids=sample_ids[subset],
    )
    eps = grid[largest]
    return accuracy_gap_flag(
        BLACKBOX,
        probe=f"square ({FAST_SQUARE_QUERIES} queries)",
        probe_survived={eps: survived[1]},
        references={n: {eps: correct[n][largest][subset]} for n in whitebox},
        margin=margin,
        z=z,
        scope=f" on {len(subset)} samples",
    )
