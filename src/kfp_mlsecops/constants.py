"""Names shared between steps: artifact file names, JSON keys, schema ids and mount paths.

Producers and consumers import these instead of repeating string literals, so a renamed key breaks
loudly in one place instead of silently in the gate.
"""

from __future__ import annotations

# --- dataset split artifacts (NPZ) -------------------------------------------------------------
#: Arrays stored in every split NPZ written by validate_data.
NPZ_X = "x"
NPZ_Y = "y"
#: Scalars stored with each split: the valid input range attacks must clip to.
NPZ_LOWER = "lower"
NPZ_UPPER = "upper"
#: Number of classes (labels are 0..n_classes-1).
NPZ_N_CLASSES = "n_classes"

DATA_MANIFEST_SCHEMA = "kfp-mlsecops/data-manifest/v1"
VALIDATION_REPORT_SCHEMA = "kfp-mlsecops/validation-report/v1"

# --- model artifact layout ----------------------------------------------------------------------
#: SavedModel version folder KServe's TensorFlow runtime serves: ``<model>/1/``.
SAVEDMODEL_VERSION_DIR = "1"
KERAS_FILE = "model.keras"
PROVENANCE_FILE = "provenance.json"
PROVENANCE_SCHEMA = "kfp-mlsecops/provenance/v1"
#: Provenance key holding the digest of the validated dataset the model was trained on.
PROVENANCE_DATA_DIGEST = "data_digest"
#: The TF Serving signature and its single named input in ``<model>/1/`` (KServe V1 "instances").
SERVING_SIGNATURE = "serving_default"
SERVING_INPUT_NAME = "inputs"
SERVING_OUTPUT_NAME = "probabilities"

# --- robustness results -------------------------------------------------------------------------
ROBUSTNESS_SCHEMA = "kfp-mlsecops/robustness/v1"
CLEAN_ACCURACY = "clean_accuracy"
ROBUST_ACCURACY = "robust_accuracy"
#: Pseudo-attack name for the per-sample worst case over every attack run (metric names, reports).
WORST_CASE = "worst_case"
#: Attacks the robustness evaluation knows, by the name used in results and metric keys.
ATTACK_NAMES = ("fgsm", "pgd")
#: Invariants every robustness result has checked (listed under "invariants" in the results JSON);
#: a result that does not list all of them was not produced by a complete evaluation.
ROBUSTNESS_INVARIANTS = ("linf_ball", "input_range", "eps_zero_equals_clean", "worst_case_monotone")

# --- gate decision (the "blessing") -------------------------------------------------------------
DECISION_SCHEMA = "kfp-mlsecops/gate-decision/v1"
DECISION = "decision"
BLESSED = "blessed"
DECISION_APPROVED = "approved"
DECISION_BLOCKED = "blocked"
CONTROLS = "controls"
MODEL_DIGEST = "model_digest"

# --- Kubernetes mounts used by the compiled pipeline ---------------------------------------------
SIGNING_KEY_MOUNT = "/etc/mlsecops/signing"
SIGNING_KEY_FILE = "private-key.pem"
VERIFY_KEY_MOUNT = "/etc/mlsecops/verify"
VERIFY_KEY_FILE = "public-key.pem"

# --- component image ---------------------------------------------------------------------------
#: The image every component runs in (built from the repo's Dockerfile). Override at compile time
#: with MLSECOPS_IMAGE; the committed YAML uses this default.
DEFAULT_IMAGE = "ghcr.io/kfp-mlsecops/kfp-mlsecops:0.1.0"


def robust_metric_name(attack: str, epsilon: float) -> str:
    """Return the KFP metric key for robust accuracy of ``attack`` at ``epsilon``."""
    return f"{ROBUST_ACCURACY}.{attack}.eps_{epsilon:g}"


# --- signing / gate / deploy --------------------------------------------------------------------
#: Key holding a document's schema id, in every JSON file we write.
SCHEMA = "schema"
#: Prefix of every model digest (``sha256:<64 hex>``), see ``kfp_mlsecops.signing.model_digest``.
MODEL_DIGEST_PREFIX = "sha256:"
#: Robustness results keys read by the gate (CLEAN_ACCURACY / ROBUST_ACCURACY above).
N_SAMPLES = "n_samples"
EPSILONS = "epsilons"
ATTACKS = "attacks"
ATTACK = "attack"
NORM = "norm"
EPSILON = "epsilon"
PARAMS = "params"
#: Extra gate decision keys.
POLICY = "policy"
MESSAGE = "message"
#: Gate control ids, in evaluation order; a blessing must carry all of them, all passed.
CONTROL_SIGNATURE = "signature"
CONTROL_CLEAN_ACCURACY = "clean_accuracy"
CONTROL_ROBUST_ACCURACY = "robust_accuracy"
CONTROL_EVIDENCE_BINDING = "evidence_binding"
REQUIRED_CONTROLS = (
    CONTROL_SIGNATURE,
    CONTROL_CLEAN_ACCURACY,
    CONTROL_ROBUST_ACCURACY,
    CONTROL_EVIDENCE_BINDING,
)
#: Annotation on the InferenceService carrying the verified model digest.
MODEL_DIGEST_ANNOTATION = "mlsecops.kfp.dev/model-digest"
#: Deploy modes accepted by ``kfp_mlsecops.deploy.run_deploy``.
DEPLOY_MODE_DRY_RUN = "dry-run"
DEPLOY_MODE_APPLY = "apply"
