"""The verified predictor: reference statistics, mounts, image and deploy wait."""

from __future__ import annotations

from kfp_mlsecops._version import __version__

__all__ = [
    "APPROVAL_FILE",
    "ATTESTATION_FILE",
    "DEFAULT_PREDICTOR_IMAGE",
    "DEPLOY_WAIT_SECONDS",
    "REFERENCE_STATS_FILE",
    "REFERENCE_STATS_SCHEMA",
    "SIGNATURE_FILE",
    "SIGNATURE_MOUNT",
]

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
