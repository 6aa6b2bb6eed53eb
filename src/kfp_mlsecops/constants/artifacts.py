"""Documents and the model folder: split NPZ keys, schema ids, the model artifact layout."""

from __future__ import annotations

__all__ = [
    "DATA_MANIFEST_SCHEMA",
    "KERAS_FILE",
    "MODEL_DIGEST_PREFIX",
    "NPZ_LOWER",
    "NPZ_N_CLASSES",
    "NPZ_UPPER",
    "NPZ_X",
    "NPZ_Y",
    "PROVENANCE_ADVERSARIAL",
    "PROVENANCE_DATA_DIGEST",
    "PROVENANCE_DIFFERENTIAL_PRIVACY",
    "PROVENANCE_FILE",
    "PROVENANCE_SCHEMA",
    "SAVEDMODEL_VERSION_DIR",
    "SCHEMA",
    "SERVING_INPUT_NAME",
    "SERVING_OUTPUT_NAME",
    "SERVING_SIGNATURE",
    "VALIDATION_REPORT_SCHEMA",
]

#: Key holding a document's schema id, in every JSON file we write.
SCHEMA = "schema"
#: Prefix of every model digest (``sha256:<64 hex>``), see ``kfp_mlsecops.signing.model_digest``.
MODEL_DIGEST_PREFIX = "sha256:"

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
