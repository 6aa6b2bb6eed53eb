"""Membership privacy: whether a model reveals which samples it was trained on.

:func:`run_membership_test` runs a loss-threshold membership-inference attack (Yeom et al. 2018,
plus a class-calibrated variant) with the training split as members and the held-out test split
as non-members, and writes a :class:`MembershipResults` document that ``mlsecops check`` reads.
The figures (:mod:`kfp_mlsecops.privacy.membership`) are numpy only; TensorFlow is imported
only when a model is loaded.
"""

from __future__ import annotations

from kfp_mlsecops.privacy.membership import (
    ATTACKS,
    LOW_FPRS,
    AttackMetrics,
    LowFprPoint,
    MembershipFigures,
    attack_metrics,
    chance_advantage,
    cross_entropy,
    membership_figures,
)
from kfp_mlsecops.privacy.results import MembershipResults
from kfp_mlsecops.privacy.run import run_membership_test

__all__ = [
    "ATTACKS",
    "LOW_FPRS",
    "AttackMetrics",
    "LowFprPoint",
    "MembershipFigures",
    "MembershipResults",
    "attack_metrics",
    "chance_advantage",
    "cross_entropy",
    "membership_figures",
    "run_membership_test",
]
