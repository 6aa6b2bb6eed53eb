"""One description per pipeline run parameter, shared by every pipeline and signing method.

KFP 2.17 reads a pipeline parameter's ``description`` (``root: inputDefinitions`` in the compiled
YAML) from the ``Args:`` section of the pipeline function's docstring; the ``@dsl.pipeline``
``description`` argument only replaces the pipeline's own summary. The pipelines are built per
signing method by ``make_secure_training`` / ``make_secure_release``, so :func:`document_parameters`
appends that section from :data:`PARAMETER_DESCRIPTIONS` to the function it decorates: each
parameter's text is written once here, whichever pipeline or method uses it. The texts stay
method-neutral (the defaults are the method's; the pipeline's description names the method).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from kfp_mlsecops import constants as C
from kfp_mlsecops.policy import POLICY_CONFIGMAP

__all__ = ["PARAMETER_DESCRIPTIONS", "document_parameters"]

_F = TypeVar("_F", bound=Callable[..., Any])

_UNUSED = "empty for the other methods"

#: Run parameter name -> its one-line description in the compiled pipeline YAML.
PARAMETER_DESCRIPTIONS: Mapping[str, str] = {
    # Data and model in.
    "model_uri": (
        "The model to release: a Keras 3 ``.keras`` file or a TensorFlow SavedModel folder (a "
        "serving_default signature); a local path on kfp.local, an s3://, gs:// or minio:// URI "
        "(or a path on a mounted volume) on a cluster."
    ),
    "data_uri": (
        "The evaluation data, used whole (no re-split): an NPZ, a CSV or Parquet table or a "
        "folder of images with one sub-folder per class; the same kinds of URI as ``model_uri``."
    ),
    "model_format": "``keras`` or ``savedmodel``; empty: recognised from the path.",
    "data_source": (
        "``digits`` (scikit-learn's bundled 8x8 digits, scaled to [0, 1]) or a path the validate "
        "step can read: an NPZ, a CSV or Parquet table or a folder of PNG/JPEG images with one "
        "sub-folder per class."
    ),
    "data_format": (
        "``npz``, ``csv``, ``parquet`` or ``images`` (one sub-folder per class); empty: "
        "recognised from the suffix or folder."
    ),
    "label_column": "The label column of a CSV or Parquet table.",
    "value_min": (
        "Lowest valid feature value: the bottom of the model's input range, in the units of the "
        "epsilons; attacks clip to it."
    ),
    "value_max": (
        "Highest valid feature value (e.g. 1.0, or 255 for 8-bit images); must be above "
        "``value_min``."
    ),
    "test_fraction": "Fraction of each class sent to the test split (strictly between 0 and 1).",
    "seed": (
        "Seeds every randomised step the pipeline runs (data split, training, attacks); an "
        "integer in [0, 2**31)."
    ),
    # Training.
    "epochs": "Passes over the train split (integer >= 1).",
    "batch_size": (
        "Training samples per step (integer >= 1); with DP-SGD the expected size of the "
        "Poisson-sampled batches."
    ),
    "learning_rate": "Adam's learning rate (0 < lr < 1).",
    "adversarial_training": (
        "``none`` (clean training), ``pgd`` (PGD-AT) or ``fgsm_rs`` (FGSM with random start), at "
        "the train step's default budget."
    ),
    "dp_noise_multiplier": (
        "DP-SGD's Gaussian noise std as a multiple of ``dp_l2_norm_clip``; > 0 trains with "
        "DP-SGD (0: off)."
    ),
    "dp_l2_norm_clip": "DP-SGD's per-example gradient clipping norm (L2, > 0).",
    "dp_delta": (
        "Delta at which the train step reports DP-SGD's epsilon; 0 < delta < 1 / number of "
        "training examples."
    ),
    # Attack-test.
    "epsilons": (
        "L-inf perturbation budgets of the attacks, in input units, each >= 0 and at most the "
        "input range width."
    ),
    "attack_tier": "``fast`` (FGSM + PGD) or ``reliable`` (APGD-CE + APGD-T + Square).",
    "pgd_steps": "PGD iterations (integer >= 1).",
    # Gate thresholds (the policy floor may only tighten them).
    "min_clean_accuracy": (
        "Gate threshold: minimum clean accuracy, in [0, 1]; the policy floor may raise it."
    ),
    "min_robust_accuracy": (
        "Gate threshold: minimum robust accuracy (``robust_attack`` at ``robust_epsilon``), in "
        "[0, 1]; the policy floor may raise it."
    ),
    "robust_attack": (
        "Attack whose robust accuracy is gated: ``worst_case`` (per sample, over every attack of "
        "the tier) or one the tier ran, if the policy floor allows."
    ),
    "robust_epsilon": (
        "Budget at which robust accuracy is gated (input units, >= 0); the policy floor may "
        "raise it."
    ),
    "allow_masking_flags": (
        "Gradient-masking flag ids that are reported but do not block the gate (any other flag "
        "raised blocks it); the policy floor decides which may be waived."
    ),
    # Signing (sign model, attest robustness).
    "signing_secret": (
        f"Secret with the signing material, mounted at {C.SIGNING_KEY_MOUNT} on the two signing "
        "tasks (sign model, attest robustness) only."
    ),
    "private_key_path": (
        f"key and certificate methods: the PEM ECDSA private key file; {_UNUSED} (the signing "
        "tasks fail otherwise)."
    ),
    "password_path": (
        "key method: file holding the private key's password (empty: unencrypted key)."
    ),
    "certificate_path": f"certificate method: the signing (leaf) certificate file; {_UNUSED}.",
    "chain_paths": f"certificate method: the issuing CA certificate files; {_UNUSED}.",
    "identity_token_path": (
        "sigstore method: file holding the OIDC identity token (empty with "
        f"``use_ambient_credentials``); {_UNUSED}."
    ),
    "use_ambient_credentials": (
        "sigstore method: take the identity token from the environment instead of "
        "``identity_token_path`` (exactly one token source)."
    ),
    "signing_trust_config_path": (
        "sigstore method: ClientTrustConfig JSON to sign with (empty: the public-good instance)."
    ),
    # Verification (gate, deploy, the verified predictor).
    "verify_configmap": (
        f"ConfigMap with the verification material, mounted at {C.VERIFY_KEY_MOUNT} on gate and "
        "deploy only; the verified predictor reads it from the serving namespace."
    ),
    "public_key_path": (
        f"key method: the model-signing public key gate and deploy verify with; {_UNUSED}."
    ),
    "verify_chain_paths": (
        "certificate method: the CA certificates gate and deploy trust (together with "
        f"``signer_identity``); {_UNUSED}."
    ),
    "signer_identity": (
        "The signer's identity gate and deploy require: the certificate's subject DN or SAN "
        "(certificate method) or the OIDC identity (sigstore method); empty for the key method."
    ),
    "oidc_issuer": f"sigstore method: the OIDC issuer of ``signer_identity``; {_UNUSED}.",
    "trust_config_path": (
        f"sigstore method: ClientTrustConfig JSON gate and deploy verify with, offline; {_UNUSED}."
    ),
    # Approval and audit.
    "approval_key_path": (
        f"The gate's own ECDSA private key, signing its approval (Secret {C.APPROVAL_SECRET}, "
        "mounted on the gate only); it must differ from the model-signing key."
    ),
    "approval_public_key_path": (
        "The gate's approval public key deploy verifies with (ConfigMap "
        f"{C.APPROVAL_VERIFY_CONFIGMAP}, mounted on deploy only)."
    ),
    "audit_log_path": (
        "Audit log file or directory (e.g. a mounted PVC) where gate and deploy append every "
        "decision and deploy as signed, hash-chained records; empty: off."
    ),
    "audit_key_path": (
        f"The key signing the audit records (Secret {C.AUDIT_SECRET}, mounted on gate and deploy)."
    ),
    # Deploy.
    "service_name": "Name of the KServe InferenceService (a DNS-1035 label).",
    "namespace": "Namespace deploy writes the InferenceService to.",
    "deploy_mode": "``dry-run`` (only write the manifest) or ``apply``.",
    "service_account": (
        "Service account the predictor runs as (e.g. storage credentials); empty: not set."
    ),
    "predictor": (
        "``verified`` (our predictor verifies signature, attestation and approval again before it "
        "serves; it reads ``verify_configmap``, "
        f"{C.APPROVAL_VERIFY_CONFIGMAP} and {POLICY_CONFIGMAP} from the serving namespace) or "
        "``kserve`` (opt-out: KServe's TensorFlow runtime; nothing re-checks the model in storage "
        "after deploy)."
    ),
    "predictor_image": (
        "Image of the verified predictor (empty: the project's); pin a digest, "
        "registry/name@sha256:..."
    ),
    "deploy_wait_seconds": (
        "apply mode: seconds deploy waits for the new revision to be Ready before it rolls back "
        "(0: no wait; at most 3600)."
    ),
    "canary_traffic_percent": (
        "KServe's ``canaryTrafficPercent`` for the new revision (0-100; -1: not set); only "
        "Serverless mode splits traffic."
    ),
    # Monitoring.
    "pushgateway_url": (
        "Prometheus Pushgateway every step pushes its ``mlsecops_*`` metrics to, grouped by "
        "pipeline, run id and component (empty: the step's ``$MLSECOPS_PUSHGATEWAY_URL``, unset: "
        "off); a failed push is only logged and never changes a decision."
    ),
}


def document_parameters(func: _F) -> _F:
    """Append an ``Args:`` section describing every parameter of ``func``; return ``func``.

    Put it under ``@dsl.pipeline`` so KFP reads the section when it builds the pipeline's spec.
    A parameter with no entry in :data:`PARAMETER_DESCRIPTIONS` raises :class:`LookupError`.
    """
    names = list(inspect.signature(func).parameters)
    missing = [name for name in names if name not in PARAMETER_DESCRIPTIONS]
    if missing:
        raise LookupError(
            f"{func.__name__}: no description for run parameter(s) {', '.join(missing)}; add "
            "them to PARAMETER_DESCRIPTIONS in kfp_mlsecops.pipelines.parameters"
        )
    args = "\n".join(f"    {name}: {PARAMETER_DESCRIPTIONS[name]}" for name in names)
    func.__doc__ = f"{inspect.cleandoc(func.__doc__ or '')}\n\nArgs:\n{args}\n"
    return func
