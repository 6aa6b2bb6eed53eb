"""The robustness results: schema, keys, tiers, invariants, gradient-masking flags.

The attack names and tier lists are derived from :mod:`kfp_mlsecops.attack_catalog`
(``constants.ATTACK_NAMES``, ``constants.TIER_ATTACKS``).
"""

from __future__ import annotations

__all__ = [
    "ATTACK",
    "ATTACKS",
    "CLEAN_ACCURACY",
    "EPSILON",
    "EPSILONS",
    "EVALUATION",
    "MASKING",
    "MASKING_FLAGS",
    "NORM",
    "N_SAMPLES",
    "PARAMS",
    "ROBUSTNESS_INVARIANTS",
    "ROBUSTNESS_SCHEMA",
    "ROBUSTNESS_SHARD_SCHEMA",
    "ROBUST_ACCURACY",
    "SAMPLES",
    "SAMPLES_ENCODING",
    "TEST_DATA_DIGEST",
    "TIER",
    "TIERS",
    "TIER_FAST",
    "TIER_RELIABLE",
    "WORST_CASE",
    "robust_metric_name",
]

#: v2 adds per-sample outcomes (``samples``), ``evaluation`` and ``test_data_digest``; the typed
#: reader/writer is ``kfp_mlsecops.attacks.results``.
ROBUSTNESS_SCHEMA = "kfp-mlsecops/robustness/v2"
#: One shard of a sharded attack-test (``kfp_mlsecops.attacks.shards``); the merge step turns
#: every shard of one run into a ROBUSTNESS_SCHEMA document.
ROBUSTNESS_SHARD_SCHEMA = "kfp-mlsecops/robustness-shard/v1"
#: Digest (``data.manifest.split_digest``) of the test split the results were computed on.
TEST_DATA_DIGEST = "test_data_digest"
#: ``{"split_size", "max_samples", "seed"}``: which rows of the split were evaluated.
EVALUATION = "evaluation"
#: Per-sample outcomes: ``{"ids", "encoding", "clean", "survived": {attack: [bits per epsilon]}}``.
SAMPLES = "samples"
#: How ``samples`` stores a bool per sample: ``np.packbits(bits, bitorder="little")``, base64.
SAMPLES_ENCODING = "packbits-le-base64"
CLEAN_ACCURACY = "clean_accuracy"
ROBUST_ACCURACY = "robust_accuracy"
#: Pseudo-attack name for the per-sample worst case over every attack run (metric names, reports).
WORST_CASE = "worst_case"
#: Evaluation tiers: ``fast`` (every run) and ``reliable`` (AutoAttack-style worst case).
TIER = "tier"
TIER_FAST = "fast"
TIER_RELIABLE = "reliable"
TIERS = (TIER_FAST, TIER_RELIABLE)
#: Results key holding the gradient-masking diagnostics (one object per MASKING_FLAGS id).
MASKING = "masking"
#: Invariants every robustness result has checked (listed under "invariants" in the results JSON);
#: a result that does not list all of them was not produced by a complete evaluation.
ROBUSTNESS_INVARIANTS = ("linf_ball", "input_range", "eps_zero_equals_clean", "worst_case_monotone")
#: Gradient-masking flags every robustness result lists under "masking" (issue 3 shared contract;
#: each becomes a gate control ``masking.<id>``).
MASKING_FLAGS = (
    "blackbox_beats_whitebox",
    "single_step_beats_iterative",
    "no_convergence_at_large_eps",
    "degenerate_gradients",
)
#: Robustness results keys read by the gate (CLEAN_ACCURACY / ROBUST_ACCURACY above).
N_SAMPLES = "n_samples"
EPSILONS = "epsilons"
ATTACKS = "attacks"
ATTACK = "attack"
NORM = "norm"
EPSILON = "epsilon"
PARAMS = "params"


def robust_metric_name(attack: str, epsilon: float) -> str:
    """Return the KFP metric key for robust accuracy of ``attack`` at ``epsilon``."""
    return f"{ROBUST_ACCURACY}.{attack}.eps_{epsilon:g}"
