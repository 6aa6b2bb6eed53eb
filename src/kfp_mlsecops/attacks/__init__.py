"""Attack core: FGSM and PGD (L-inf) in foolbox's shape, and the robustness evaluation.

TensorFlow is imported inside the functions, so importing this package stays cheap.
"""

from __future__ import annotations

from kfp_mlsecops.attacks.base import Attack
from kfp_mlsecops.attacks.epsilons import parse_epsilons, validate_epsilons
from kfp_mlsecops.attacks.evaluate import evaluate_robustness
from kfp_mlsecops.attacks.fgsm import FGSM
from kfp_mlsecops.attacks.invariants import check_perturbation
from kfp_mlsecops.attacks.model import TFModel
from kfp_mlsecops.attacks.pgd import PGD
from kfp_mlsecops.attacks.report import render_report, robustness_metrics, run_attack_test

__all__ = [
    "FGSM",
    "PGD",
    "Attack",
    "TFModel",
    "check_perturbation",
    "evaluate_robustness",
    "parse_epsilons",
    "render_report",
    "robustness_metrics",
    "run_attack_test",
    "validate_epsilons",
]
