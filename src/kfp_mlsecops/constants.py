"""Names shared between steps: artifact file names, JSON keys, schema ids and mount paths.

Producers and consumers import these instead of repeating string literals, so a renamed key breaks
loudly in one place instead of silently in the gate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kfp_mlsecops._version import __version__

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
#: Provenance key holding how the model was trained against attacks (``{"method": "none"}`` if not).
PROVENANCE_ADVERSARIAL = "adversarial_training"
#: Provenance key holding DP-SGD's (epsilon, delta) and settings (absent when trained without it).
PROVENANCE_DIFFERENTIAL_PRIVACY = "differential_privacy"
#: The TF Serving signature and its single named input in ``<model>/1/`` (KServe V1 "instances").
SERVING_SIGNATURE = "serving_default"
SERVING_INPUT_NAME = "inputs"
SERVING_OUTPUT_NAME = "probabilities"

# --- robustness results -------------------------------------------------------------------------
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
if TYPE_CHECKING:  # derived from kfp_mlsecops.attack_catalog on access (``__getattr__`` below)
    #: Attacks the robustness evaluation knows, by the name used in results and metric keys:
    #: fgsm, pgd, pgd_l2, apgd_ce, apgd_t, square, then any registered later.
    ATTACK_NAMES: tuple[str, ...]
    #: The attacks each tier runs (fast: fgsm, pgd; reliable: apgd_ce, apgd_t, square; all
    #: L-inf); the worst case is over these.
    TIER_ATTACKS: dict[str, tuple[str, ...]]
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

# --- gate decision (its signed form is the approval) ------------------------------------------
DECISION_SCHEMA = "kfp-mlsecops/gate-decision/v2"
DECISION = "decision"
BLESSED = "blessed"
DECISION_APPROVED = "approved"
DECISION_BLOCKED = "blocked"
CONTROLS = "controls"
MODEL_DIGEST = "model_digest"

# --- Kubernetes mounts used by the compiled pipeline ---------------------------------------------
#: The signing Secret (private key / certificate / Sigstore token) on the two signing tasks only.
SIGNING_KEY_MOUNT = "/etc/mlsecops/signing"
SIGNING_KEY_FILE = "private-key.pem"
SIGNING_CERTIFICATE_FILE = "certificate.pem"
SIGNING_CHAIN_FILE = "chain.pem"
SIGSTORE_TOKEN_FILE = "token"  # noqa: S105 - a file name, not a token
#: The verification ConfigMap (public key / CA chain / Sigstore trust config) on gate and deploy.
VERIFY_KEY_MOUNT = "/etc/mlsecops/verify"
VERIFY_KEY_FILE = "public-key.pem"
VERIFY_CHAIN_FILE = "ca-chain.pem"
VERIFY_TRUST_CONFIG_FILE = "trust_config.json"

#: The gate's approval key (a Secret mounted on the gate task ONLY) and the ConfigMap with its
#: public key (mounted on deploy, and in the serving namespace on the verified predictor).
APPROVAL_KEY_MOUNT = "/etc/mlsecops/approval"
APPROVAL_KEY_FILE = "private-key.pem"
APPROVAL_SECRET = "mlsecops-approval-key"  # noqa: S105 - a Secret name, not a secret
APPROVAL_VERIFY_MOUNT = "/etc/mlsecops/approval-verify"
APPROVAL_VERIFY_FILE = "public-key.pem"
APPROVAL_VERIFY_CONFIGMAP = "mlsecops-approval-verify"
#: The audit key signing audit-log records (kfp_mlsecops.audit): its own Secret, mounted
#: (optional) on gate and deploy, so deploy never holds the approval key.
AUDIT_KEY_MOUNT = "/etc/mlsecops/audit"
AUDIT_KEY_FILE = "private-key.pem"
AUDIT_SECRET = "mlsecops-audit-key"  # noqa: S105 - a Secret name, not a secret

# --- component image ---------------------------------------------------------------------------
#: The image every component runs in (built from the repo's Dockerfile). Override at compile time
#: with MLSECOPS_IMAGE; the committed YAML uses this default.
DEFAULT_IMAGE = f"ghcr.io/kfp-mlsecops/kfp-mlsecops:{__version__}"


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
#: Annotation on the InferenceService carrying the verified model digest.
MODEL_DIGEST_ANNOTATION = "mlsecops.kfp.dev/model-digest"
#: Deploy modes accepted by ``kfp_mlsecops.deploy.run_deploy``.
DEPLOY_MODE_DRY_RUN = "dry-run"
DEPLOY_MODE_APPLY = "apply"
#: What the deploy step renders: KServe's TensorFlow runtime, or our verified predictor.
PREDICTOR_KSERVE = "kserve"
PREDICTOR_VERIFIED = "verified"
PREDICTORS = (PREDICTOR_KSERVE, PREDICTOR_VERIFIED)

# --- signing methods (kfp_mlsecops.signing, mlsecops sign/verify) -------------------------------
#: The built-in methods' names. Every method (these and any registered later), its options and
#: its cluster wiring live in ``kfp_mlsecops.signing.registry``.
SIGNING_METHOD_KEY = "key"
SIGNING_METHOD_CERTIFICATE = "certificate"
SIGNING_METHOD_SIGSTORE = "sigstore"


def __getattr__(name: str) -> Any:
    """Derive the attack names from the attack catalog and the signing names from their registry.

    ``ATTACK_NAMES``: every attack name; ``TIER_ATTACKS``: ``{tier: its attack names}``
    (:mod:`kfp_mlsecops.attack_catalog`). ``SIGNING_METHODS``: every method name.
    ``VERIFY_CONFIGMAPS``: each method's default ConfigMap of verification material, mounted at
    ``VERIFY_KEY_MOUNT`` on gate, deploy and the verified predictor. Read on access (both
    registries are light), so they are never stale.
    """
    if name in ("ATTACK_NAMES", "TIER_ATTACKS"):
        from kfp_mlsecops import attack_catalog

        return (
            attack_catalog.attack_names() if name == "ATTACK_NAMES" else attack_catalog.tier_table()
        )

    from kfp_mlsecops.signing import registry

    if name == "SIGNING_METHODS":
        return registry.method_names()
    if name == "VERIFY_CONFIGMAPS":
        return {m.name: m.wiring.verify_configmap for m in registry.all_methods()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- serving (kfp_mlsecops.serving, mlsecops serve) ---------------------------------------------
#: Per-feature statistics of the training split, saved in the model directory (so the signature
#: covers them); the verified predictor measures input drift against them.
REFERENCE_STATS_FILE = "reference_stats.json"
REFERENCE_STATS_SCHEMA = "kfp-mlsecops/reference-stats/v1"
#: Where the verified predictor's InferenceService mounts the model signature (and attestation).
SIGNATURE_MOUNT = "/etc/mlsecops/signature"
SIGNATURE_FILE = "model.sig"
ATTESTATION_FILE = "attestation.json"
APPROVAL_FILE = "approval.json"
#: The verified predictor image (``docker build --target predictor``); pin a digest when deploying.
DEFAULT_PREDICTOR_IMAGE = f"ghcr.io/kfp-mlsecops/kfp-mlsecops-predictor:{__version__}"
#: How long deploy (apply) waits for the new revision to be Ready before rolling back, seconds.
DEPLOY_WAIT_SECONDS = 300

# --- robustness attestation (kfp_mlsecops.attestation) -------------------------------------------
#: predicateType of the signed in-toto Statement binding robustness evidence to a model digest.
ATTESTATION_PREDICATE_TYPE = "https://kfp-mlsecops.dev/robustness/v1"
#: predicateType of the gate's signed approval (kfp_mlsecops.gate.approval): the only thing that
#: lets deploy and the verified predictor act on a model.
APPROVAL_PREDICATE_TYPE = "https://kfp-mlsecops.dev/approval/v1"
#: The in-toto Statement type and the DSSE payloadType of every attestation we write.
IN_TOTO_STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
#: Subject annotation naming how the subject's sha256 was computed (our model digest, not a file).
ATTESTATION_DIGEST_ANNOTATION = "kfp-mlsecops/digest-definition"
MODEL_DIGEST_DEFINITION = "kfp-mlsecops/model-digest/v1"

# --- model file safety (kfp_mlsecops.safety) ----------------------------------------------------
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
