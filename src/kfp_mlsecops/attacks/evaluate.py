"""Evaluate a model's robustness: a tier of attacks over a list of epsilons, worst case per sample.

Tiers (``constants.TIER_ATTACKS``): ``fast`` = FGSM + PGD; ``reliable`` = APGD-CE + APGD-T +
Square. A sample is robust at epsilon only if it survives every attack of the tier there (and at
every smaller epsilon). The results also carry the gradient-masking flags and every sample's
outcome (:mod:`kfp_mlsecops.attacks.results`). Each sample's attack randomness is keyed by its
row index in the test split, so re-attacking any subset reproduces its outcome.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks._diagnose import Diagnosis, masking_flags, probe_samples
from kfp_mlsecops.attacks._params import check_int
from kfp_mlsecops.attacks._sweep import sweep
from kfp_mlsecops.attacks.base import Attack, check_batch
from kfp_mlsecops.attacks.epsilons import validate_epsilons
from kfp_mlsecops.attacks.invariants import INVARIANTS, L2_BALL, check_eps_zero, check_monotone
from kfp_mlsecops.attacks.loading import load_attack_model
from kfp_mlsecops.attacks.masking import MaskingThresholds
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.attacks.results import Evaluation, Invariant, MaskingFlag, RobustnessResults
from kfp_mlsecops.attacks.tiers import build_attack, tier_attacks
from kfp_mlsecops.data.manifest import split_digest
from kfp_mlsecops.data.split_io import Split
from kfp_mlsecops.errors import AttackError, InvalidInputError

__all__ = [
    "Evidence",
    "Progress",
    "Settings",
    "evaluate_arrays",
    "evaluate_robustness",
    "budget_limit",
    "finish_evaluation",
    "load_inputs",
    "measure_samples",
    "prepare_evaluation",
]

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
    model, split = load_inputs(
        model_path=model_path,
        test_path=test_path,
        epsilons=epsilons,
        tier=tier,
        attacks=attacks,
        pgd_steps=pgd_steps,
        batch_size=batch_size,
        max_samples=max_samples,
        seed=seed,
        attack_params=attack_params,
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


def load_inputs(
    *,
    model_path: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
    epsilons: Sequence[float],
    tier: str,
    attacks: Sequence[str] | None,
    pgd_steps: int,
    batch_size: int,
    max_samples: int,
    seed: int,
    attack_params: Mapping[str, Mapping[str, Any]] | None,
) -> tuple[TFModel, Split]:
    """Load the split and the model (after checking the arguments); they must match."""
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
    return model, split


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
    ``{"square": {"n_queries": 5000}}``. ``max_samples`` > 0 evaluates a seeded random subset
    (:func:`~kfp_mlsecops.attacks.results.evaluation_ids`); each row's attack randomness is keyed
    by its index in ``x``. Epsilon 0 is always run and must reproduce the clean predictions;
    every adversarial is checked against its norm ball and the range; the worst case must not
    rise with epsilon. Returns the results document (schema ``constants.ROBUSTNESS_SCHEMA``, see
    :class:`~kfp_mlsecops.attacks.results.RobustnessResults`); its ``test_data_digest`` is the
    split digest of ``(x, y, lower, upper, the model's class count)``.
    """
    started = time.perf_counter()
    settings, fmodel, x, y = prepare_evaluation(
        model=model,
        x=x,
        y=y,
        lower=lower,
        upper=upper,
        epsilons=epsilons,
        tier=tier,
        attacks=attacks,
        pgd_steps=pgd_steps,
        batch_size=batch_size,
        max_samples=max_samples,
        seed=seed,
        attack_params=attack_params,
        masking_thresholds=masking_thresholds,
    )
    evidence = measure_samples(
        settings,
        model=fmodel,
        x=x,
        y=y,
        positions=np.arange(len(y)),
        batch_size=batch_size,
        progress=progress,
    )
    return finish_evaluation(
        settings, evidence, wall_time_s=round(time.perf_counter() - started, 3)
    )


@dataclass(frozen=True)
class Settings:
    """What an evaluation runs, apart from its samples (equal for every shard of it).

    ``epsilons`` are the requested ones, ascending; ``diagnosis`` holds the attacks, the grid
    (``{0} | epsilons``), the seed and the masking thresholds.
    """

    tier: str
    names: tuple[str, ...]
    epsilons: tuple[float, ...]
    input_range: tuple[float, float]
    input_shape: tuple[int, ...]
    model_output: str
    evaluation: Evaluation
    test_data_digest: str
    diagnosis: Diagnosis

    @property
    def sample_ids(self) -> np.ndarray:
        """The evaluated row ids (ascending)."""
        return self.evaluation.ids()


@dataclass(frozen=True)
class Evidence:
    """Per-sample outcomes of some evaluated samples (``sample_ids`` ascending).

    ``correct[attack]`` and the ``fgsm`` probe are shaped ``(len(grid), m)``, every other array
    ``(m,)``; ``timing`` is seconds per attack and ``masking``.
    """

    sample_ids: np.ndarray
    clean: np.ndarray
    correct: Mapping[str, np.ndarray]
    probes: Mapping[str, np.ndarray]
    timing: Mapping[str, float]


def prepare_evaluation(
    *,
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    lower: float,
    upper: float,
    epsilons: Sequence[float],
    tier: str,
    attacks: Sequence[str] | None,
    pgd_steps: int,
    batch_size: int,
    max_samples: int,
    seed: int,
    attack_params: Mapping[str, Mapping[str, Any]] | None,
    masking_thresholds: MaskingThresholds | None,
) -> tuple[Settings, TFModel, np.ndarray, np.ndarray]:
    """Check the arguments; return the settings, the model and the evaluated rows ``x``, ``y``."""
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
    if len(y) == 0:
        raise InvalidInputError("test split has no samples; cannot evaluate robustness")
    _declare_precision(instances, fmodel)
    digest = split_digest(Split(x, y, float(lower), float(upper), fmodel.n_classes))
    evaluation = Evaluation(split_size=len(y), max_samples=max_samples, seed=seed)
    ids = evaluation.ids()
    settings = Settings(
        tier=tier,
        names=tuple(names),
        epsilons=tuple(requested),
        input_range=(float(lower), float(upper)),
        input_shape=tuple(int(d) for d in np.shape(x)[1:]),
        model_output=fmodel.output_kind,
        evaluation=evaluation,
        test_data_digest=digest,
        diagnosis=Diagnosis(
            tier=tier,
            norm=norm,
            instances=instances,
            grid=tuple(sorted({0.0, *requested})),
            diameter=diameter,
            seed=seed,
            pgd_steps=pgd_steps,
            thresholds=masking_thresholds or MaskingThresholds(),
        ),
    )
    return settings, fmodel, x[ids], y[ids]


def measure_samples(
    settings: Settings,
    *,
    model: TFModel,
    x: np.ndarray,
    y: np.ndarray,
    positions: np.ndarray,
    batch_size: int,
    progress: Progress | None = None,
) -> Evidence:
    """Attack the evaluated samples at ``positions`` (ascending) of ``x``, ``y``; return the bits.

    ``x``, ``y`` are every evaluated row (``settings.sample_ids`` order). Each sample's outcome
    depends only on its row id, never on the other samples attacked with it.
    """
    diagnosis = settings.diagnosis
    grid = list(diagnosis.grid)
    ids = settings.sample_ids[positions]
    n_total = len(y)
    x, y = x[positions], y[positions]
    total = len(settings.names) * len(grid) + 1 + _MASKING_UNITS
    done = 0

    def tick(stage: str, units: int = 1) -> None:
        nonlocal done
        done += units
        if progress is not None:
            progress(stage, done, total)

    if progress is not None:
        progress("clean", 0, total)
    clean_correct = model.predict_labels(x, batch_size=batch_size) == y
    tick("clean")
    correct: dict[str, np.ndarray] = {}
    timing: dict[str, float] = {}
    for name in settings.names:
        begun = time.perf_counter()
        correct[name] = sweep(
            diagnosis.instances[name],
            model,
            x,
            y,
            grid=grid,
            batch_size=batch_size,
            sample_ids=ids,
            on_epsilon=lambda name=name: tick(name),  # type: ignore[misc]
        )
        check_eps_zero(clean_correct, correct[name][0], attack=name)
        timing[name] = round(time.perf_counter() - begun, 3)
    _check_worst_case(grid, correct)
    begun = time.perf_counter()
    probes = probe_samples(
        diagnosis,
        model=model,
        x=x,
        y=y,
        sample_ids=ids,
        positions=positions,
        n_total=n_total,
        clean=clean_correct,
        batch_size=batch_size,
        tick=lambda: tick(C.MASKING),
    )
    timing[C.MASKING] = round(time.perf_counter() - begun, 3)
    return Evidence(ids, clean_correct, correct, probes, timing)


def finish_evaluation(
    settings: Settings, evidence: Evidence, *, wall_time_s: float
) -> dict[str, Any]:
    """Return the results document from the evidence of every evaluated sample.

    Checks the invariants that span samples again and computes the masking flags over all
    samples; ``evidence`` must cover ``settings.sample_ids`` exactly.
    """
    if not np.array_equal(evidence.sample_ids, settings.sample_ids):
        raise AttackError(
            f"evidence covers {len(evidence.sample_ids)} samples, not the "
            f"{len(settings.sample_ids)} the evaluation selects; internal error"
        )
    diagnosis = settings.diagnosis
    grid = list(diagnosis.grid)
    for name in settings.names:
        check_eps_zero(evidence.clean, evidence.correct[name][0], attack=name)
    _check_worst_case(grid, evidence.correct)
    masking = masking_flags(diagnosis, correct=evidence.correct, probes=evidence.probes)
    invariants = [Invariant(key, text) for key, text in INVARIANTS.items()]
    if diagnosis.norm == "l2":
        invariants.append(Invariant(*L2_BALL))
    index = [grid.index(eps) for eps in settings.epsilons]
    instances = diagnosis.instances
    results = RobustnessResults(
        tier=settings.tier,
        epsilons=settings.epsilons,
        input_range=settings.input_range,
        model_output=settings.model_output,
        evaluation=settings.evaluation,
        sample_ids=evidence.sample_ids,
        clean_correct=evidence.clean,
        outcomes={name: evidence.correct[name][index] for name in settings.names},
        norms={name: instances[name].norm for name in settings.names},
        params={name: instances[name].params() for name in settings.names},
        masking=tuple(MaskingFlag(**flag) for flag in masking),
        invariants=tuple(invariants),
        test_data_digest=settings.test_data_digest,
        wall_time_s=wall_time_s,
        attack_wall_time_s=dict(evidence.timing),
    )
    doc = results.to_dict()
    RobustnessResults.from_dict(doc)  # the document reads back: figures match the bits
    return doc


def _check_worst_case(grid: Sequence[float], correct: Mapping[str, np.ndarray]) -> None:
    worst = np.logical_and.accumulate(np.logical_and.reduce(list(correct.values())), axis=0)
    if worst.shape[1] == 0:
        return
    accuracy = [float(v) for v in worst.mean(axis=1)]
    check_monotone(grid, accuracy, what="worst case over " + ", ".join(correct))


def _declare_precision(instances: Mapping[str, Attack], model: TFModel) -> None:
    """Make attacks that asked for bfloat16 declare float32 when the model has no bf16 copy.

    The results then record the precision actually used (a SavedModel has no bfloat16 copy),
    which is also what the gate re-runs.
    """
    for attack in instances.values():
        if getattr(attack, "precision", None) == "bfloat16" and model.bf16_logits() is None:
            attack.precision = "float32"  # type: ignore[attr-defined]


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
    diameter = budget_limit(norms[0], lower=lower, upper=upper, shape=shape)
    requested = sorted(set(validate_epsilons(epsilons, lower=lower, upper=lower + diameter)))
    return names, instances, norms[0], diameter, requested


def budget_limit(norm: str, *, lower: float, upper: float, shape: Sequence[int]) -> float:
    """Return the largest meaningful budget: the range width (L-inf) or the box diagonal (L2)."""
    span = float(upper) - float(lower)
    return span if norm == "linf" else span * math.sqrt(float(np.prod(shape)))
