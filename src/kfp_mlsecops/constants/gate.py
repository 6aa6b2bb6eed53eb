"""The gate: decision document keys, control ids (in evaluation order), required controls."""

from __future__ import annotations

from kfp_mlsecops.constants.robustness import MASKING_FLAGS

__all__ = [
    "BLESSED",
    "CONTROLS",
    "CONTROL_CLEAN_ACCURACY",
    "CONTROL_EVIDENCE_BINDING",
    "CONTROL_EVIDENCE_CLEAN",
    "CONTROL_EVIDENCE_DATA",
    "CONTROL_EVIDENCE_ROBUST",
    "CONTROL_MASKING_PREFIX",
    "CONTROL_MODEL_LAYOUT",
    "CONTROL_MODEL_SCAN",
    "CONTROL_POLICY_FLOOR",
    "CONTROL_ROBUSTNESS_ATTESTATION",
    "CONTROL_ROBUST_ACCURACY",
    "CONTROL_SIGNATURE",
    "DECISION",
    "DECISION_APPROVED",
    "DECISION_BLOCKED",
    "DECISION_SCHEMA",
    "MESSAGE",
    "MODEL_DIGEST",
    "POLICY",
    "REQUIRED_CONTROLS",
]

DECISION_SCHEMA = "kfp-mlsecops/gate-decision/v2"
DECISION = "decision"
BLESSED = "blessed"
DECISION_APPROVED = "approved"
DECISION_BLOCKED = "blocked"
CONTROLS = "controls"
MODEL_DIGEST = "model_digest"
#: Extra gate decision keys.
POLICY = "policy"
MESSAGE = "message"
#: Gate control ids, in evaluation order; an approval must carry all of them, all passed.
CONTROL_SIGNATURE = "signature"
CONTROL_CLEAN_ACCURACY = "clean_accuracy"
CONTROL_ROBUST_ACCURACY = "robust_accuracy"
CONTROL_EVIDENCE_BINDING = "evidence_binding"
#: The signed robustness attestation verifies, names the signed model and attests the gated numbers.
CONTROL_ROBUSTNESS_ATTESTATION = "robustness_attestation"
#: The model files carry nothing that runs code when loaded (kfp_mlsecops.safety.scan_model).
CONTROL_MODEL_SCAN = "model_scan"
#: The model folder is exactly the servable layout (kfp_mlsecops.servable.check_layout).
CONTROL_MODEL_LAYOUT = "model_layout"
#: The test split is validate-data's (digest) and the one the results were computed on.
CONTROL_EVIDENCE_DATA = "evidence.data"
#: The policy floor loaded and the evaluation meets it (kfp_mlsecops.policy).
CONTROL_POLICY_FLOOR = "policy_floor"
#: The gate's own clean predictions match the claimed per-sample outcomes.
CONTROL_EVIDENCE_CLEAN = "evidence.clean"
#: Re-attacking sampled robust claims reproduces them (kfp_mlsecops.gate.rederive).
CONTROL_EVIDENCE_ROBUST = "evidence.robust"
#: Gradient-masking controls are ``masking.<flag id>``, one per MASKING_FLAGS entry.
CONTROL_MASKING_PREFIX = "masking."
REQUIRED_CONTROLS = (
    CONTROL_MODEL_LAYOUT,
    CONTROL_SIGNATURE,
    CONTROL_MODEL_SCAN,
    CONTROL_ROBUSTNESS_ATTESTATION,
    CONTROL_EVIDENCE_BINDING,
    CONTROL_EVIDENCE_DATA,
    CONTROL_POLICY_FLOOR,
    CONTROL_EVIDENCE_CLEAN,
    CONTROL_EVIDENCE_ROBUST,
    CONTROL_CLEAN_ACCURACY,
    CONTROL_ROBUST_ACCURACY,
    *(CONTROL_MASKING_PREFIX + flag for flag in MASKING_FLAGS),
)
