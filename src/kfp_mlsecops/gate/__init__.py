"""The gate: a strict blessing from every control (signature, evidence, scan, masking...).

:func:`run_gate` always writes the decision and raises GateRejected unless every control passed;
:func:`read_blessing` is the strict reader deploy uses.
"""

from __future__ import annotations

from kfp_mlsecops.gate.blessing import Blessing, read_blessing
from kfp_mlsecops.gate.controls import ControlResult
from kfp_mlsecops.gate.decision import Decision
from kfp_mlsecops.gate.policy import Policy
from kfp_mlsecops.gate.results import (
    AttackResult,
    MaskingFlag,
    RobustnessResults,
    load_robustness_results,
)
from kfp_mlsecops.gate.run import run_gate

__all__ = [
    "AttackResult",
    "Blessing",
    "ControlResult",
    "Decision",
    "MaskingFlag",
    "Policy",
    "RobustnessResults",
    "load_robustness_results",
    "read_blessing",
    "run_gate",
]
