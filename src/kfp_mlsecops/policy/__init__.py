"""Gate policy: the run thresholds, the organisation's floor under them, and how they meet.

:class:`Policy` is what a run asks for; :class:`PolicyFloor` (read by :func:`load_floor` from the
``mlsecops-policy`` ConfigMap, or the built-in default) is the minimum an environment enforces;
:func:`tighten` raises a run's policy to the floor, never the other way. This package imports
neither the gate, TensorFlow nor kfp.
"""

from __future__ import annotations

from kfp_mlsecops.policy.budgets import BUDGET_PARAMS
from kfp_mlsecops.policy.effective import (
    EPSILON_TOLERANCE,
    Tightened,
    evaluation_violations,
    meets,
    policy_violations,
    tighten,
)
from kfp_mlsecops.policy.floor import (
    API_VERSION,
    BUILTIN,
    KIND,
    POLICY_CONFIGMAP,
    POLICY_FILE,
    POLICY_MOUNT,
    EvidenceFloor,
    PolicyFloor,
    load_floor,
)
from kfp_mlsecops.policy.thresholds import Policy

__all__ = [
    "API_VERSION",
    "BUDGET_PARAMS",
    "BUILTIN",
    "EPSILON_TOLERANCE",
    "KIND",
    "POLICY_CONFIGMAP",
    "POLICY_FILE",
    "POLICY_MOUNT",
    "EvidenceFloor",
    "Policy",
    "PolicyFloor",
    "Tightened",
    "evaluation_violations",
    "load_floor",
    "meets",
    "policy_violations",
    "tighten",
]
