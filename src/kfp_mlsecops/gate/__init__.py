"""The gate: re-derive the evidence, apply the policy floor, sign an approval or block.

:func:`run_gate` evaluates every control, always writes the decision (JSON + Markdown) and,
only when every control passed, signs an approval with the gate's own key
(:mod:`kfp_mlsecops.gate.approval`); otherwise it raises GateRejected. Deploy and the verified
predictor act on :func:`verify_approval`, never on the unsigned decision file.
"""

from __future__ import annotations

from kfp_mlsecops.gate.approval import (
    Approval,
    FloorRef,
    check_separate_keys,
    sign_approval,
    verify_approval,
)
from kfp_mlsecops.gate.controls import ControlResult
from kfp_mlsecops.gate.decision import Decision
from kfp_mlsecops.gate.rederive import Rederivation
from kfp_mlsecops.gate.release import Release, check_release
from kfp_mlsecops.gate.run import render_markdown, run_gate
from kfp_mlsecops.policy import Policy

__all__ = [
    "Approval",
    "ControlResult",
    "Decision",
    "FloorRef",
    "Policy",
    "Rederivation",
    "Release",
    "check_release",
    "check_separate_keys",
    "render_markdown",
    "run_gate",
    "sign_approval",
    "verify_approval",
]
