"""Attack core: FGSM, PGD, APGD-CE, APGD-T and Square in foolbox's shape, and the evaluation.

The evaluation runs two tiers with runtime invariants and gradient-masking diagnostics and
writes per-sample outcomes (:class:`RobustnessResults`); every attack's randomness is keyed per
sample, so :func:`reattack` reproduces any evaluated point's outcome.

TensorFlow is imported inside the functions, so importing this package stays cheap.
"""

from __future__ import annotations

from kfp_mlsecops.attacks.apgd import APGD, APGDT
from kfp_mlsecops.attacks.base import Attack
from kfp_mlsecops.attacks.epsilons import parse_epsilons, validate_epsilons
from kfp_mlsecops.attacks.evaluate import Progress, evaluate_arrays, evaluate_robustness
from kfp_mlsecops.attacks.fgsm import FGSM
from kfp_mlsecops.attacks.invariants import check_perturbation
from kfp_mlsecops.attacks.loading import SavedModelClassifier, load_attack_model
from kfp_mlsecops.attacks.masking import MaskingThresholds
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.attacks.pgd import PGD
from kfp_mlsecops.attacks.reattack import attack_from_params, reattack
from kfp_mlsecops.attacks.report import render_report, robustness_metrics, run_attack_test
from kfp_mlsecops.attacks.results import RobustnessResults, evaluation_ids
from kfp_mlsecops.attacks.square import Square
from kfp_mlsecops.attacks.tiers import build_attack, tier_attacks

__all__ = [
    "APGD",
    "APGDT",
    "FGSM",
    "PGD",
    "Attack",
    "MaskingThresholds",
    "Progress",
    "RobustnessResults",
    "SavedModelClassifier",
    "Square",
    "TFModel",
    "attack_from_params",
    "build_attack",
    "check_perturbation",
    "evaluate_arrays",
    "evaluate_robustness",
    "evaluation_ids",
    "load_attack_model",
    "parse_epsilons",
    "reattack",
    "render_report",
    "robustness_metrics",
    "run_attack_test",
    "tier_attacks",
    "validate_epsilons",
]
