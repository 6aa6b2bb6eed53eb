"""Explanations check: whether the model's saliency maps explain the model, not only the input.

:func:`run_explanations_check` computes gradient saliency maps (``|d logit_y / d x|``, and
gradient x input) of the trained model on a seeded sample of test inputs, re-initialises the
model's weights layer by layer from the top (Adebayo et al. 2018, "Sanity Checks for Saliency
Maps") and measures how alike the maps stay (per-sample Spearman rank correlation); it writes an
:class:`ExplanationsResults` document that ``mlsecops check`` reads. A method passes when its
maps change substantially. The similarity (:mod:`kfp_mlsecops.explanations.similarity`) is
numpy and scipy only; TensorFlow is imported only when a model is loaded.
"""

from __future__ import annotations

from kfp_mlsecops.explanations.results import ExplanationsResults
from kfp_mlsecops.explanations.run import run_explanations_check
from kfp_mlsecops.explanations.saliency import (
    METHODS,
    SaliencyMethod,
    cascading_randomization,
    gradient,
    gradient_x_input,
)
from kfp_mlsecops.explanations.sanity import (
    DEFAULT_GATING,
    LayerStep,
    MethodSanity,
    SanityParameters,
    saliency_sanity_check,
)
from kfp_mlsecops.explanations.similarity import MapSimilarity, map_similarity

__all__ = [
    "DEFAULT_GATING",
    "METHODS",
    "ExplanationsResults",
    "LayerStep",
    "MapSimilarity",
    "MethodSanity",
    "SaliencyMethod",
    "SanityParameters",
    "cascading_randomization",
    "gradient",
    "gradient_x_input",
    "map_similarity",
    "run_explanations_check",
    "saliency_sanity_check",
]
