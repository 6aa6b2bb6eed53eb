"""The saliency sanity check: whether a method's maps change when the weights are randomized.

Adebayo et al. (2018, "Sanity Checks for Saliency Maps") showed that some saliency methods
produce nearly the same maps for a trained and a randomly initialised network: they explain the
input (edges), not the model. :func:`saliency_sanity_check` runs their cascading
model-parameter randomization (:func:`~.saliency.cascading_randomization`) and scores, per
method and per randomized layer, how alike the maps stay (:func:`~.similarity.map_similarity`).
A method passes when, with every layer randomized, the similarity is below ``max_similarity``.

Why 0.5 (measured on the repo's digits CNN, 64 seeded test samples, seeds 0-2): vanilla
gradients fall to 0.19-0.22 with only the logits layer randomized and to 0.11-0.12 with every
layer randomized (two independent randomizations agree at 0.11: that is the floor); methods
that ignore the model (the input itself, its Sobel edges) stay at 1.00, and gradient x input
stays at 0.91 (its maps are zero wherever the pixel is, as Adebayo et al. found for it: two
independent randomizations agree at 0.90 too). 0.5 sits far from both groups. Only the methods
named in ``gating`` decide the verdict; the others are reported. Known limit: on the tabular MLP
(flattened digits, 3 epochs) the gradient stays at 0.53 and fails, because its ranking follows
the fixed standardization layer's 1/std, which randomizing the weights leaves alone (two
independent randomizations agree at 0.53 too; gradients in the standardized space fall to 0.14).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.explanations.saliency import METHODS, SaliencyMethod, cascading_randomization
from kfp_mlsecops.explanations.similarity import map_similarity

__all__ = [
    "DEFAULT_GATING",
    "LayerStep",
    "MethodSanity",
    "SanityParameters",
    "saliency_sanity_check",
]

#: The methods whose verdict is the check's by default (gradient x input is reported only).
DEFAULT_GATING = ("gradient",)
_MAX_SEED = 2**31


@dataclass(frozen=True)
class SanityParameters:
    """The check's settings (the defaults are the measured ones; see the module docstring).

    Args:
        n_samples: test samples drawn (seeded, without replacement; all when fewer).
        seed: seeds the sample and the randomized weights.
        max_similarity: a method passes when its maps' similarity, every layer randomized,
            is below this.

    """

    n_samples: int = 64
    seed: int = 0
    max_similarity: float = 0.5

    def __post_init__(self) -> None:
        """Refuse settings the check cannot run with; InvalidInputError names the setting."""
        if isinstance(self.n_samples, bool) or not isinstance(self.n_samples, int):
            raise InvalidInputError(f"n_samples={self.n_samples!r}: must be an integer >= 2")
        if self.n_samples < 2:
            raise InvalidInputError(f"n_samples={self.n_samples!r}: must be an integer >= 2")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise InvalidInputError(f"seed={self.seed!r}: must be an integer in [0, 2**31)")
        if not 0 <= self.seed < _MAX_SEED:
            raise InvalidInputError(f"seed={self.seed!r}: must be an integer in [0, 2**31)")
        value = self.max_similarity
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0.0 < value <= 1.0
        ):
            raise InvalidInputError(f"max_similarity={value!r}: must be a number in (0, 1]")


@dataclass(frozen=True)
class LayerStep:
    """How alike a method's maps stay once ``layer`` (and every layer above it) is randomized."""

    layer: str
    similarity: float
    rank_correlation: float


@dataclass(frozen=True)
class MethodSanity:
    """One saliency method's cascade, top layer first; ``gates``: it decides the verdict."""

    name: str
    gates: bool
    cascade: tuple[LayerStep, ...]

    @property
    def similarity(self) -> float:
        """The similarity with every layer randomized (the figure the verdict uses)."""
        return self.cascade[-1].similarity

    @property
    def rank_correlation(self) -> float:
        """The mean signed rank correlation with every layer randomized."""
        return self.cascade[-1].rank_correlation

    def passed(self, max_similarity: float) -> bool:
        """Whether the maps changed enough: similarity below ``max_similarity``."""
        return self.similarity < max_similarity


def saliency_sanity_check(
    model: Any,
    x: np.ndarray,
    *,
    methods: Mapping[str, SaliencyMethod] | None = None,
    gating: Collection[str] = DEFAULT_GATING,
    seed: int = 0,
) -> tuple[MethodSanity, ...]:
    """Run the cascading randomization test on ``x``; one result per method, in given order.

    Args:
        model: what :func:`~kfp_mlsecops.attacks.load_attack_model` returns.
        x: (N, ...) float samples (already drawn), shaped as the model takes them.
        methods: saliency methods by name (None: :data:`~.saliency.METHODS`).
        gating: the names whose verdict decides the check (at least one of ``methods``).
        seed: seeds the randomized weights.

    """
    chosen = dict(METHODS if methods is None else methods)
    unknown = sorted(set(gating) - set(chosen))
    if not chosen or not gating or unknown:
        raise InvalidInputError(
            f"gating methods {sorted(gating)} must be a non-empty subset of {sorted(chosen)}"
        )
    if len(x) < 2 or not np.isfinite(x).all():
        raise InvalidInputError(f"{len(x)} samples: need at least 2 finite samples")
    original, cascade = cascading_randomization(model, x, methods=chosen, seed=seed)
    results = []
    for name in chosen:
        steps = []
        for layer, maps in cascade:
            score = map_similarity(original[name], maps[name])
            steps.append(LayerStep(layer, score.similarity, score.rank_correlation))
        results.append(MethodSanity(name, name in gating, tuple(steps)))
    return tuple(results)
