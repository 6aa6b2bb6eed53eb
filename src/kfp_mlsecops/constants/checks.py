"""Informational model checks: file safety scan, membership inference, poisoning, saliency."""

from __future__ import annotations

__all__ = [
    "EXPLANATIONS_RESULTS_FILE",
    "EXPLANATIONS_SCHEMA",
    "MEMBERSHIP_SCHEMA",
    "MODEL_SCAN_SCHEMA",
    "POISONING_RESULTS_FILE",
    "POISONING_SCHEMA",
    "PRIVACY_RESULTS_FILE",
]

MODEL_SCAN_SCHEMA = "kfp-mlsecops/model-scan/v1"

# --- membership inference (kfp_mlsecops.privacy, mlsecops privacy) -------------------------------
#: The membership-inference results document; its reader/writer is ``kfp_mlsecops.privacy.results``.
MEMBERSHIP_SCHEMA = "kfp-mlsecops/membership-inference/v1"
#: Where ``mlsecops run`` writes it in the run folder and where ``mlsecops check`` looks for it.
PRIVACY_RESULTS_FILE = "privacy.json"

# --- poisoning scan (kfp_mlsecops.poisoning, mlsecops poisoning) ---------------------------------
#: The poisoning-scan results document; its reader/writer is ``kfp_mlsecops.poisoning.results``.
POISONING_SCHEMA = "kfp-mlsecops/poisoning-scan/v1"
#: Where ``mlsecops run`` writes it in the run folder and where ``mlsecops check`` looks for it.
POISONING_RESULTS_FILE = "poisoning.json"

# --- saliency sanity check (kfp_mlsecops.explanations, mlsecops explanations) --------------------
#: The saliency sanity-check document; its reader/writer is ``kfp_mlsecops.explanations.results``.
EXPLANATIONS_SCHEMA = "kfp-mlsecops/saliency-sanity/v1"
#: Where ``mlsecops run`` writes it in the run folder and where ``mlsecops check`` looks for it.
EXPLANATIONS_RESULTS_FILE = "explanations.json"
