"""The cluster: Kubernetes mounts of the compiled pipeline, images, deploy modes, predictors."""

from __future__ import annotations

from kfp_mlsecops._version import __version__

__all__ = [
    "APPROVAL_KEY_FILE",
    "APPROVAL_KEY_MOUNT",
    "APPROVAL_SECRET",
    "APPROVAL_VERIFY_CONFIGMAP",
    "APPROVAL_VERIFY_FILE",
    "APPROVAL_VERIFY_MOUNT",
    "AUDIT_KEY_FILE",
    "AUDIT_KEY_MOUNT",
    "AUDIT_SECRET",
    "DEFAULT_IMAGE",
    "DEPLOY_MODE_APPLY",
    "DEPLOY_MODE_DRY_RUN",
    "MODEL_DIGEST_ANNOTATION",
    "PREDICTORS",
    "PREDICTOR_KSERVE",
    "PREDICTOR_VERIFIED",
    "SIGNING_CERTIFICATE_FILE",
    "SIGNING_CHAIN_FILE",
    "SIGNING_KEY_FILE",
    "SIGNING_KEY_MOUNT",
    "SIGSTORE_TOKEN_FILE",
    "VERIFY_CHAIN_FILE",
    "VERIFY_KEY_FILE",
    "VERIFY_KEY_MOUNT",
    "VERIFY_TRUST_CONFIG_FILE",
]

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

#: The image every component runs in (built from the repo's Dockerfile). Override at compile time
#: with MLSECOPS_IMAGE; the committed YAML uses this default.
DEFAULT_IMAGE = f"ghcr.io/kfp-mlsecops/kfp-mlsecops:{__version__}"

#: Annotation on the InferenceService carrying the verified model digest.
MODEL_DIGEST_ANNOTATION = "mlsecops.kfp.dev/model-digest"
#: Deploy modes accepted by ``kfp_mlsecops.deploy.run_deploy``.
DEPLOY_MODE_DRY_RUN = "dry-run"
DEPLOY_MODE_APPLY = "apply"
#: What the deploy step renders: KServe's TensorFlow runtime, or our verified predictor.
PREDICTOR_KSERVE = "kserve"
PREDICTOR_VERIFIED = "verified"
PREDICTORS = (PREDICTOR_KSERVE, PREDICTOR_VERIFIED)
