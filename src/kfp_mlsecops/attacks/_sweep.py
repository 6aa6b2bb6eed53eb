"""Run one attack over an ascending epsilon grid, batched, checking every adversarial."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from kfp_mlsecops.attacks.base import Attack, check_sample_ids, clip_perturbation
from kfp_mlsecops.attacks.invariants import check_perturbation
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.errors import AttackError


def sweep(
    attack: Attack,
    model: TFModel,
    x: np.ndarray,
    y: np.ndarray,
    *,
    grid: Sequence[float],
    batch_size: int,
    sample_ids: np.ndarray | None = None,
    on_epsilon: Callable[[], None] | None = None,
) -> np.ndarray:
    """Return ``survived`` shaped ``(len(grid), N)``: the model still classifies sample i right.

    ``grid`` ascends. Epsilon 0 (when first in ``grid``) runs on every sample through the attack's
    own code path. Above it, only samples that survived the previous epsilon are attacked: an
    adversarial found inside a smaller ball lies inside every larger one, so a fooled sample stays
    fooled. Every clipped adversarial is checked against the ball and the range (AttackError).
    ``sample_ids`` key each sample's random draws (default ``0..N-1``): a sample's outcome does
    not depend on ``batch_size`` or on which other samples are swept with it.
    """
    if list(grid) != sorted(grid):
        raise AttackError(f"epsilon grid {list(grid)} is not ascending; internal error")
    lower, upper = model.bounds
    ids = check_sample_ids(sample_ids, len(y))
    survived = np.zeros((len(grid), len(y)), dtype=bool)
    alive = np.ones(len(y), dtype=bool)
    for g, epsilon in enumerate(grid):
        todo = np.flatnonzero(alive)
        for start in range(0, len(todo), batch_size):
            part = todo[start : start + batch_size]
            budgets = np.full(len(part), epsilon, dtype=np.float32)
            raw = np.asarray(
                attack.run_batch(model, x[part], y[part], epsilons=budgets, sample_ids=ids[part])
            )
            if raw.shape != x[part].shape:
                raise AttackError(
                    f"attack '{attack.name}': returned shape {raw.shape} for {x[part].shape}"
                )
            adversarial = clip_perturbation(
                x[part], raw, epsilon=epsilon, lower=lower, upper=upper, norm=attack.norm
            )
            check_perturbation(
                x[part],
                adversarial,
                epsilon=epsilon,
                lower=lower,
                upper=upper,
                attack=attack.name,
                norm=attack.norm,
            )
            alive[part] = model.predict_labels(adversarial) == y[part]
        survived[g] = alive
        if on_epsilon is not None:
            on_epsilon()
    return survived
