"""Evaluate a model's robustness: a tier of attacks over a list of epsilons, worst case per sample.

Tiers (``constants.TIER_ATTACKS``): ``fast`` = FGSM + PGD; ``reliable`` = APGD-CE + APGD-T +
Square. A sample is robust at epsilon only if it survives every attack of the tier there (and at
every smaller epsilon). The results also carry the gradient-masking flags.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks._diagnose import diagnose
from kfp_mlsecops.attacks._params import check_int
from kfp_mlsecops.attacks._sweep import sweep
from kfp_mlsecops.attacks.base import Attack, check_batch
from kfp_mlsecops.attacks.epsilons import validate_epsilons
from kfp_mlsecops.attacks.invariants import INVARIANTS, L2_BALL, check_eps_zero, check_monotone
from kfp_mlsecops.attacks.loading import load_attack_model
from kfp_mlsecops.attacks.masking import MaskingThresholds
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.attacks.tiers import build_attack, tier_attacks
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["Progress", "evaluate_arrays", "evaluate_robustness"]

#: ``progress(stage, done, total)``: stage is an attack name, ``clean`` or ``masking``.
Progress = Callable[[str, int, int], None]
#: Extra progress units for the masking diagnostics.
_MASKING_UNITS = 3


def evaluate_robustness(
    *,
    model_path: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
    epsilons: Sequence[float],
    tier: str = C.TIER_FAST,
    attacks: Sequence[str] | None = None,
    pgd_steps: int = 20,
    batch_size: int = 256,
    max_samples: int = 0,
    seed: int = 0,
    progress: Progress | None = None,
    attack_params: Mapping[str, Mapping[str, Any]] | None = None,
    masking_thresholds: MaskingThresholds | None = None,
) -> dict[str, Any]:
    """Attack the model on a validated test split; see :func:`evaluate_arrays` for the rest.

    ``model_path`` is anything :func:`~kfp_mlsecops.attacks.load_attack_model` accepts; the
    split supplies the valid input range. Raises InvalidInputError for bad arguments and
    AttackError when an invariant breaks.
    """
    from kfp_mlsecops.data.split_io import load_split

    split = load_split(test_path)
    _plan(  # fail on bad arguments before loading the model
        tier=tier,
        attacks=attacks,
        attack_params=attack_params,
        epsilons=epsilons,
        shape=split.x.shape[1:],
        lower=split.lower,
        upper=split.upper,
        ints={"pgd_steps": pgd_steps, "batch_size": batch_size, "max_samples": max_samples},
        seed=seed,
    )
    model = TFModel(load_attack_model(model_path), bounds=(split.lower, split.upper))
    if model.input_shape != tuple(split.x.shape[1:]) or model.n_classes != split.n_classes:
        raise InvalidInputError(
            f"model '{model_path}' takes {model.input_shape} with {model.n_classes} classes but "
            f"split '{test_path}' has {tuple(split.x.shape[1:])} with {split.n_classes}; "
            "use the matching model"
        )
    return evaluate_arrays(
        model=model,
        x=split.x,
        y=split.y,
        lower=split.lower,
        upper=split.upper,
        epsilons=epsilons,
        tier=tier,
        attacks=attacks,
        pgd_steps=pgd_steps,
        batch_size=batch_size,
        max_samples=max_samples,
        seed=seed,
        progress=progress,
        attack_params=attack_params,
        masking_thresholds=masking_thresholds,
    )


def evaluate_arrays(
    *,
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    lower: float,
    upper: float,
    epsilons: Sequence[float],
    tier: str = C.TIER_FAST,
    attacks: Sequence[str] | None = None,
    pgd_steps: int = 20,
    batch_size: int = 256,
    max_samples: int = 0,
    seed: int = 0,
    progress: Progress | None = None,
    attack_params: Mapping[str, Mapping[str, Any]] | None = None,
    masking_thresholds: MaskingThresholds | None = None,
) -> dict[str, Any]:
    """Attack ``model`` (Keras model, SavedModel wrapper or TFModel) on ``x``, ``y``.

    ``attacks`` overrides the tier's attack list (names from ``constants.ATTACK_NAMES``, one norm
    per evaluation); ``attack_params`` overrides constructor arguments per attack name, e.g.
    ``{"square": {"n_queries": 5000}}``. ``max_samples`` > 0 evaluates a seeded random subset.
    Epsilon 0 is always run and must reproduce the clean predictions; every adversarial is
    checked against its norm ball and the range; the worst case must not rise with epsilon.
    Returns the results document (schema ``constants.ROBUSTNESS_SCHEMA``).
    """
    started = time.perf_counter()
    names, instances, norm, diameter, requested = _plan(
        tier=tier,
        attacks=attacks,
        attack_params=attack_params,
        epsilons=epsilons,
        shape=np.shape(x)[1:],
        lower=lower,
        upper=upper,
        ints={"pgd_steps": pgd_steps, "batch_size": batch_size, "max_samples": max_samples},
        seed=seed,
    )
    fmodel = (
        model.with_bounds(lower, upper)
        if isinstance(model, TFModel)
        else TFModel(model, bounds=(lower, upper))
    )
    x, y = check_batch(fmodel, x, y)
    x, y = _subset(x, y, max_samples=max_samples, seed=seed)
    grid = sorted({0.0, *requested})

    total = len(names) * len(grid) + 1 + _MASKING_UNITS
    done = 0

    def tick(stage: str, units: int = 1) -> None:
        nonlocal done
        done += units
        if progress is not None:
            progress(stage, done, total)

    if progress is not None:
        progress("clean", 0, total)
    clean_correct = fmodel.predict_labels(x, batch_size=batch_size) == y
    tick("clean")
    correct: dict[str, np.ndarray] = {}
    timing: dict[str, float] = {}
    for name in names:
        begun = time.perf_counter()
        correct[name] = sweep(
            instances[name],
            fmodel,
            x,
            y,
            grid=grid,
            batch_size=batch_size,
            on_epsilon=lambda name=name: tick(name),  # type: ignore[misc]
        )
        check_eps_zero(clean_correct, correct[name][0], attack=name)
        timing[name] = round(time.perf_counter() - begun, 3)
    worst = np.logical_and.accumulate(np.logical_and.reduce([correct[n] for n in names]), axis=0)
    worst_accuracy = [float(v) for v in worst.mean(axis=1)]
    check_monotone(grid, worst_accuracy, what="worst case over " + ", ".join(names))

    index = {eps: i for i, eps in enumerate(grid)}
    accuracy = {
        name: {eps: float(np.mean(correct[name][index[eps]])) for eps in requested}
        for name in names
    }
    begun = time.perf_counter()
    masking = diagnose(
        model=fmodel,
        x=x,
        y=y,
        tier=tier,
        norm=norm,
        instances=instances,
        correct=correct,
        grid=grid,
        diameter=diameter,
        batch_size=batch_size,
        seed=seed,
        pgd_steps=pgd_steps,
        thresholds=masking_thresholds or MaskingThresholds(),
        tick=lambda: tick(C.MASKING),
    )
    masking_time = round(time.perf_counter() - begun, 3)
    invariants = [{"name": key, "description": text} for key, text in INVARIANTS.items()]
    if norm == "l2":
        invariants.append({"name": L2_BALL[0], "description": L2_BALL[1]})
    return {
        C.SCHEMA: C.ROBUSTNESS_SCHEMA,
        C.TIER: tier,
        C.CLEAN_ACCURACY: float(np.mean(clean_correct)),
        C.N_SAMPLES: len(y),
        C.EPSILONS: requested,
        "input_range": {"lower": float(lower), "upper": float(upper)},
        "model_output": fmodel.output_kind,
        C.ATTACKS: [
            {
                C.ATTACK: name,
                C.NORM: instances[name].norm,
                C.EPSILON: eps,
                C.ROBUST_ACCURACY: accuracy[name][eps],
                C.PARAMS: instances[name].params(),
            }
            for name in names
            for eps in requested
        ],
        C.WORST_CASE: [
            {C.EPSILON: eps, C.ROBUST_ACCURACY: worst_accuracy[index[eps]]} for eps in requested
        ],
        C.MASKING: masking,
        "invariants": invariants,
        "wall_time_s": round(time.perf_counter() - started, 3),
        "attack_wall_time_s": {**timing, C.MASKING: masking_time},
    }


def _plan(
    *,
    tier: str,
    attacks: Sequence[str] | None,
    attack_params: Mapping[str, Mapping[str, Any]] | None,
    epsilons: Sequence[float],
    shape: tuple[int, ...],
    lower: float,
    upper: float,
    ints: Mapping[str, int],
    seed: int,
) -> tuple[list[str], dict[str, Attack], str, float, list[float]]:
    """Check the arguments; return names, attacks, norm, the budget limit and sorted epsilons."""
    names = tier_attacks(tier, attacks)
    for label, value in ints.items():
        check_int(label, value, 0 if label == "max_samples" else 1)
    check_int("seed", seed, 0, 2**31)
    params = dict(attack_params or {})
    stray = sorted(set(params) - set(names))
    if stray:
        raise InvalidInputError(f"attack_params for {stray}: those attacks are not run ({names})")
    instances: dict[str, Attack] = {
        name: build_attack(
            name,
            seed=seed,
            pgd_steps=ints["pgd_steps"],
            overrides=params.get(name),
            input_shape=shape,
        )
        for name in names
    }
    norms = sorted({attack.norm for attack in instances.values()})
    if len(norms) != 1:
        raise InvalidInputError(
            f"attacks {names} mix norms {' and '.join(norms)}; evaluate one norm at a time"
        )
    span = float(upper) - float(lower)
    # the largest meaningful budget: the range width (L-inf) or the box diagonal (L2)
    diameter = span if norms[0] == "linf" else span * math.sqrt(float(np.prod(shape)))
    requested = sorted(set(validate_epsilons(epsilons, lower=lower, upper=lower + diameter)))
    return names, instances, norms[0], diameter, requested


def _subset(
    x: np.ndarray, y: np.ndarray, *, max_samples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    if len(y) == 0:
        raise InvalidInputError("test split has no samples; cannot evaluate robustness")
    if max_samples == 0 or max_samples >= len(y):
        return x, y
    keep = np.sort(np.random.default_rng(seed).permutation(len(y))[:max_samples])
    return x[keep], y[keep]
