"""Compute the four gradient-masking flags, running the extra attacks each one needs.

- ``degenerate_gradients``: one gradient pass over the clean samples.
- ``single_step_beats_iterative``: FGSM (run here when the tier has none) vs every iterative
  white-box attack of the evaluation, at the requested epsilons.
- ``blackbox_beats_whitebox``: Square vs the white-box attacks. The reliable tier runs Square
  itself; the fast tier runs a small Square (``FAST_SQUARE_QUERIES`` queries) on a seeded subset
  of ``FAST_SQUARE_SAMPLES`` at the largest requested epsilon, where masking shows most.
- ``no_convergence_at_large_eps``: an iterative white-box attack at a large epsilon.

Two steps: :func:`probe_samples` runs the extra attacks and records a bit per sample (keyed by
its row id, so any subset of the samples gets the same bits), :func:`masking_flags` turns the
bits of every evaluated sample into the flags. A sharded evaluation probes each shard and
computes the flags once over the merged bits, which gives the unsharded flags exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
    degenerate_gradient_bits,
    no_convergence_flag,
    not_applicable,
)
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.attacks.tiers import build_attack

FAST_SQUARE_SAMPLES = 100
FAST_SQUARE_QUERIES = 300
#: Iterative white-box attacks, in the order preferred for the large-epsilon check.
ITERATIVE = ("apgd_ce", "pgd", "pgd_l2", "apgd_t")
#: Per-sample probe names: gradient health (margin, cross-entropy), FGSM per grid epsilon (when
#: the evaluation has no FGSM), the fast tier's Square at the largest epsilon (False off its
#: subset) and the white-box attack at the large epsilon (False for misclassified samples).
DEGENERATE_MARGIN = "degenerate_margin"
DEGENERATE_CE = "degenerate_cross_entropy"
FGSM_PROBE = "fgsm"
SQUARE_PROBE = "square"
LARGE_EPSILON = "large_epsilon"


@dataclass(frozen=True)
class Diagnosis:
    """What the diagnostics of one evaluation need: its settings, not its samples."""

    tier: str
    norm: str
    instances: Mapping[str, Attack]
    grid: Sequence[float]
    diameter: float
    seed: int
    pgd_steps: int
    thresholds: MaskingThresholds

    @property
    def requested(self) -> list[int]:
        """Return the grid indices of the epsilons above 0."""
        return [i for i, eps in enumerate(self.grid) if eps > 0]

    def whitebox(self) -> list[str]:
        """Return the evaluation's gradient attacks, in run order."""
        return [n for n, a in self.instances.items() if a.needs_gradients]

    def iterative(self) -> list[str]:
        """Return the evaluation's iterative L-inf white-box attacks (FGSM's references)."""
        return [n for n in ITERATIVE if n in self.instances and self.instances[n].norm == "linf"]

    def fgsm_probe(self) -> bool:
        """Return True when the single-step check needs an FGSM run the evaluation lacks."""
        applicable = self.norm == "linf" and bool(self.iterative()) and bool(self.requested)
        return applicable and "fgsm" not in self.instances

    def square_probe(self) -> bool:
        """Return True when the black-box check needs the fast tier's small Square run."""
        applicable = self.norm == "linf" and bool(self.whitebox()) and bool(self.requested)
        return applicable and "square" not in self.instances

    def square_subset(self, n: int) -> np.ndarray:
        """Return the positions (of ``n`` evaluated samples, ascending) the small Square attacks."""
        rng = np.random.default_rng(self.seed)
        return np.sort(rng.permutation(n)[: min(FAST_SQUARE_SAMPLES, n)])

    def large_epsilon(self) -> float:
        """Return the budget of the no-convergence check."""
        return max(self.thresholds.large_epsilon_fraction * self.diameter, self.grid[-1])

    def large_attack(self) -> tuple[str, Attack | None]:
        """Return the no-convergence probe: ``(name, attack to run)``.

        The attack is None when the evaluation already ran it at the large epsilon (its own
        outcome is used).
        """
        probe = next((n for n in ITERATIVE if n in self.instances), None)
        if probe is not None and self.grid[-1] >= self.large_epsilon():
            return probe, None
        if probe is not None:
            return probe, self.instances[probe]
        name = "apgd_ce" if self.tier == C.TIER_RELIABLE else "pgd"
        name = "pgd_l2" if self.norm == "l2" else name
        return name, build_attack(name, seed=self.seed, pgd_steps=self.pgd_steps)


def probe_samples(
    diagnosis: Diagnosis,
    *,
    model: TFModel,
    x: np.ndarray,
    y: np.ndarray,
    sample_ids: np.ndarray,
    positions: np.ndarray,
    n_total: int,
    clean: np.ndarray,
    batch_size: int,
    tick: Callable[[], None],
) -> dict[str, np.ndarray]:
    """Run the extra attacks the flags need on these samples; return the probe bits by name.

    ``positions`` are the samples' places among all ``n_total`` evaluated samples (the fast
    Square subset is drawn over those); ``clean`` their clean outcomes. Three ticks.
    """
    grid = list(diagnosis.grid)
    margin_bad, ce_bad = degenerate_gradient_bits(model, x, y, batch_size=batch_size)
    probes = {DEGENERATE_MARGIN: margin_bad, DEGENERATE_CE: ce_bad}
    tick()

    if diagnosis.fgsm_probe():
        probes[FGSM_PROBE] = sweep(
            build_attack("fgsm"),
            model,
            x,
            y,
            grid=grid,
            batch_size=batch_size,
            sample_ids=sample_ids,
        )
    if diagnosis.square_probe():
        mine = np.flatnonzero(np.isin(positions, diagnosis.square_subset(n_total)))
        square = build_attack(
            "square", seed=diagnosis.seed, overrides={"n_queries": FAST_SQUARE_QUERIES}
        )
        survived = sweep(
            square,
            model,
            x[mine],
            y[mine],
            grid=[0.0, grid[diagnosis.requested[-1]]],
            batch_size=batch_size,
            sample_ids=sample_ids[mine],
        )
        probes[SQUARE_PROBE] = np.zeros(len(y), dtype=bool)
        probes[SQUARE_PROBE][mine] = survived[1]
    tick()

    _, attack = diagnosis.large_attack()
    if attack is not None:
        survived = sweep(
            attack,
            model,
            x[clean],
            y[clean],
            grid=[diagnosis.large_epsilon()],
            batch_size=batch_size,
            sample_ids=sample_ids[clean],
        )
        probes[LARGE_EPSILON] = np.zeros(len(y), dtype=bool)
        probes[LARGE_EPSILON][np.flatnonzero(clean)] = survived[0]
    tick()
    return probes


def probe_names(diagnosis: Diagnosis) -> list[str]:
    """Return the probes :func:`probe_samples` records for this evaluation, in order."""
    names = [DEGENERATE_MARGIN, DEGENERATE_CE]
    names += [FGSM_PROBE] if diagnosis.fgsm_probe() else []
    names += [SQUARE_PROBE] if diagnosis.square_probe() else []
    names += [LARGE_EPSILON] if diagnosis.large_attack()[1] is not None else []
    return names


def masking_flags(
    diagnosis: Diagnosis,
    *,
    correct: Mapping[str, np.ndarray],
    probes: Mapping[str, np.ndarray],
) -> list[dict[str, Any]]:
    """Return the flags in ``constants.MASKING_FLAGS`` order from every evaluated sample's bits.

    ``correct[attack]`` is shaped ``(len(grid), n)``; ``probes`` as :func:`probe_samples` gives.
    """
    grid, requested = list(diagnosis.grid), diagnosis.requested
    thresholds = diagnosis.thresholds

    def by_epsilon(names: Sequence[str], rows: Mapping[str, np.ndarray]) -> dict[str, Any]:
        return {n: {grid[i]: rows[n][i] for i in requested} for n in names}

    degenerate = degenerate_flag(
        margin_fraction=_fraction(probes[DEGENERATE_MARGIN]),
        ce_fraction=_fraction(probes[DEGENERATE_CE]),
        threshold=thresholds.max_degenerate_fraction,
    )
    single_step = _single_step(diagnosis, correct, probes, by_epsilon)
    blackbox = _blackbox(diagnosis, correct, probes, by_epsilon)

    name, attack = diagnosis.large_attack()
    if attack is None:
        accuracy = float(correct[name][-1].mean())
    else:
        bits = probes[LARGE_EPSILON]
        accuracy = float(bits.sum()) / len(bits)
    no_convergence = no_convergence_flag(
        attack=name,
        epsilon=diagnosis.large_epsilon(),
        accuracy=accuracy,
        threshold=thresholds.max_accuracy_at_large_epsilon,
    )
    flags = {
        BLACKBOX: blackbox,
        SINGLE_STEP: single_step,
        NO_CONVERGENCE: no_convergence,
        degenerate["id"]: degenerate,
    }
    return [flags[flag_id] for flag_id in C.MASKING_FLAGS]


def _fraction(bits: np.ndarray) -> float:
    return float(bits.mean()) if len(bits) else 0.0


def _single_step(
    diagnosis: Diagnosis,
    correct: Mapping[str, np.ndarray],
    probes: Mapping[str, np.ndarray],
    by_epsilon: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    threshold = margin = diagnosis.thresholds.single_step_margin
    iterative = diagnosis.iterative()
    if diagnosis.norm != "linf":
        return not_applicable(SINGLE_STEP, threshold=threshold, reason="FGSM is an L-inf attack")
    if not iterative:
        return not_applicable(
            SINGLE_STEP, threshold=threshold, reason="no iterative white-box attack ran"
        )
    if not diagnosis.requested:
        return not_applicable(SINGLE_STEP, threshold=threshold, reason="no epsilon above 0")
    rows = dict(correct)
    if "fgsm" not in rows:
        rows["fgsm"] = probes[FGSM_PROBE]
    measured = by_epsilon(["fgsm", *iterative], rows)
    return accuracy_gap_flag(
        SINGLE_STEP,
        probe="fgsm",
        probe_survived=measured["fgsm"],
        references={n: measured[n] for n in iterative},
        margin=margin,
        z=diagnosis.thresholds.z,
    )


def _blackbox(
    diagnosis: Diagnosis,
    correct: Mapping[str, np.ndarray],
    probes: Mapping[str, np.ndarray],
    by_epsilon: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    threshold = margin = diagnosis.thresholds.blackbox_margin
    z = diagnosis.thresholds.z
    whitebox = diagnosis.whitebox()
    if diagnosis.norm != "linf":
        return not_applicable(BLACKBOX, threshold=threshold, reason="Square is an L-inf attack")
    if not whitebox:
        return not_applicable(BLACKBOX, threshold=threshold, reason="no white-box attack ran")
    if not diagnosis.requested:
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
    largest = diagnosis.requested[-1]
    subset = diagnosis.square_subset(len(probes[SQUARE_PROBE]))
    eps = diagnosis.grid[largest]
    return accuracy_gap_flag(
        BLACKBOX,
        probe=f"square ({FAST_SQUARE_QUERIES} queries)",
        probe_survived={eps: probes[SQUARE_PROBE][subset]},
        references={n: {eps: correct[n][largest][subset]} for n in whitebox},
        margin=margin,
        z=z,
        scope=f" on {len(subset)} samples",
    )
