"""Evaluate a trained model's robustness against FGSM and PGD on a test split."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks.base import Attack
from kfp_mlsecops.attacks.epsilons import validate_epsilons
from kfp_mlsecops.attacks.fgsm import FGSM
from kfp_mlsecops.attacks.invariants import INVARIANTS, check_eps_zero, check_monotone
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.attacks.pgd import PGD
from kfp_mlsecops.data.split_io import load_split
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.training.model_io import load_model

__all__ = ["evaluate_robustness"]


def evaluate_robustness(
    *,
    model_path: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
    epsilons: Sequence[float],
    attacks: Sequence[str] = ("fgsm", "pgd"),
    pgd_steps: int = 20,
    batch_size: int = 256,
    max_samples: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Attack the model at every epsilon and return results (schema ``ROBUSTNESS_SCHEMA``).

    A sample counts as robust in ``worst_case`` only if it survives every attack at that epsilon
    and at every smaller one (an adversarial inside a smaller ball lies inside every larger one).
    Epsilon 0 is always evaluated and must reproduce the clean predictions. Raises
    InvalidInputError for bad arguments and AttackError when an invariant breaks.
    """
    started = time.perf_counter()
    names = _check_arguments(
        attacks=attacks,
        pgd_steps=pgd_steps,
        batch_size=batch_size,
        max_samples=max_samples,
        seed=seed,
    )
    split = load_split(test_path)
    lower, upper = split.lower, split.upper
    requested = sorted(set(validate_epsilons(epsilons, lower=lower, upper=upper)))
    grid = sorted({0.0, *requested})
    x, y = _subset(split.x, split.y, max_samples=max_samples, seed=seed)
    model = TFModel(load_model(model_path), bounds=(lower, upper))
    if model.input_shape != tuple(x.shape[1:]) or model.n_classes != split.n_classes:
        raise InvalidInputError(
            f"model '{model_path}' takes {model.input_shape} with {model.n_classes} classes but "
            f"split '{test_path}' has {tuple(x.shape[1:])} with {split.n_classes}; "
            "use the matching model"
        )
    clean_correct = model.predict_labels(x, batch_size=batch_size) == y
    instances: dict[str, Attack] = {"fgsm": FGSM(), "pgd": PGD(steps=pgd_steps, seed=seed)}
    correct: dict[str, np.ndarray] = {}
    for name in names:
        attack = instances[name]
        survived = np.empty((len(grid), len(y)), dtype=bool)
        for start in range(0, len(y), batch_size):
            part = slice(start, start + batch_size)
            _, _, success = attack(model, x[part], y[part], epsilons=grid, lower=lower, upper=upper)
            survived[:, part] = ~success
        check_eps_zero(clean_correct, survived[0], attack=name)
        correct[name] = survived

    worst = np.logical_and.accumulate(np.logical_and.reduce([correct[n] for n in names]), axis=0)
    worst_accuracy = [float(v) for v in worst.mean(axis=1)]
    check_monotone(grid, worst_accuracy, what="worst case over " + ", ".join(names))
    index = {eps: i for i, eps in enumerate(grid)}
    return {
        "schema": C.ROBUSTNESS_SCHEMA,
        C.CLEAN_ACCURACY: float(np.mean(clean_correct)),
        "n_samples": len(y),
        "epsilons": requested,
        "input_range": {"lower": lower, "upper": upper},
        "model_output": model.output_kind,
        "attacks": [
            {
                "attack": name,
                "norm": instances[name].norm,
                "epsilon": eps,
                C.ROBUST_ACCURACY: float(np.mean(correct[name][index[eps]])),
                "params": instances[name].params(),
            }
            for name in names
            for eps in requested
        ],
        C.WORST_CASE: [
            {"epsilon": eps, C.ROBUST_ACCURACY: worst_accuracy[index[eps]]} for eps in requested
        ],
        "invariants": [{"name": key, "description": text} for key, text in INVARIANTS.items()],
        "wall_time_s": round(time.perf_counter() - started, 3),
    }


def _check_arguments(
    *, attacks: Sequence[str], pgd_steps: int, batch_size: int, max_samples: int, seed: int
) -> list[str]:
    names = [attacks] if isinstance(attacks, str) else list(attacks)
    unknown = [n for n in names if n not in C.ATTACK_NAMES]
    if not names or unknown or len(set(names)) != len(names):
        raise InvalidInputError(
            f"attacks {names!r}: give distinct names from {list(C.ATTACK_NAMES)} (at least one)"
        )
    for label, value, minimum in (
        ("pgd_steps", pgd_steps, 1),
        ("batch_size", batch_size, 1),
        ("max_samples", max_samples, 0),
        ("seed", seed, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise InvalidInputError(f"{label}={value!r}: must be an integer >= {minimum}")
    if seed >= 2**31:
        raise InvalidInputError(f"seed={seed!r}: must be below 2**31")
    return names


def _subset(
    x: np.ndarray, y: np.ndarray, *, max_samples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    if len(y) == 0:
        raise InvalidInputError("test split has no samples; cannot evaluate robustness")
    if max_samples == 0 or max_samples >= len(y):
        return x, y
    keep = np.sort(np.random.default_rng(seed).permutation(len(y))[:max_samples])
    return x[keep], y[keep]
