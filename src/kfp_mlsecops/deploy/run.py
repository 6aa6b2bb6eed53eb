"""Deploy a blessed, verified model: re-check blessing and digest, render, dry-run or apply."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kfp_mlsecops._io import write_text_atomic
from kfp_mlsecops.attestation import verify_attestation
from kfp_mlsecops.constants import (
    DEPLOY_MODE_APPLY,
    DEPLOY_MODE_DRY_RUN,
    PREDICTOR_KSERVE,
    PREDICTOR_VERIFIED,
    PREDICTORS,
)
from kfp_mlsecops.deploy.apply import apply_config_map, apply_inference_service, load_api_client
from kfp_mlsecops.deploy.manifest import render_inference_service
from kfp_mlsecops.deploy.storage import require_cluster_reachable, storage_uri_for
from kfp_mlsecops.deploy.verified_isvc import (
    DEFAULT_PREDICTOR_IMAGE,
    PredictorTrust,
    render_signature_configmap,
    render_verified_predictor_isvc,
)
from kfp_mlsecops.errors import DeploymentError, InvalidInputError, VerificationError
from kfp_mlsecops.gate import read_blessing
from kfp_mlsecops.signing import VerificationConfig, model_digest, resolve_verification

MODES = (DEPLOY_MODE_DRY_RUN, DEPLOY_MODE_APPLY)


@dataclass(frozen=True)
class DeployResult:
    """Outcome of :func:`run_deploy`: ``status`` is "dry-run", "created" or "patched"."""

    status: str
    name: str
    namespace: str
    storage_uri: str
    model_digest: str
    manifest_path: str


def run_deploy(
    *,
    model_dir: str | os.PathLike[str],
    model_uri: str,
    decision_path: str | os.PathLike[str],
    verified_digest: str,
    signature_path: str | os.PathLike[str],
    attestation_path: str | os.PathLike[str],
    name: str,
    namespace: str,
    mode: str,
    manifest_path: str | os.PathLike[str],
    kube_api_client: Any = None,
    service_account: str | None = None,
    public_key_path: str | os.PathLike[str] | None = None,
    verification: VerificationConfig | None = None,
    predictor: str = PREDICTOR_KSERVE,
    predictor_trust: PredictorTrust | None = None,
    predictor_image: str = DEFAULT_PREDICTOR_IMAGE,
) -> DeployResult:
    """Deploy ``model_dir`` (served from ``model_uri``) as a KServe InferenceService.

    Order: read the gate blessing (VerificationError unless approved), recompute the model digest
    and require it to equal both ``verified_digest`` and the blessed digest, render the manifest,
    then, right before touching anything, verify again the model signature (``signature_path``)
    and the robustness attestation (``attestation_path``, subject == the blessed digest), both
    with the same trust: ``verification`` (any signing method) or ``public_key_path`` (key
    method), exactly one; then write the manifest (``dry-run``) or apply it and write it
    (``apply``; in-cluster config, then kubeconfig, unless ``kube_api_client`` is given).
    Nothing is written or applied when a check fails.
    ``service_account`` (optional) is the account the predictor runs as, e.g. one that carries
    storage credentials.

    ``predictor="kserve"`` renders KServe's TensorFlow runtime; ``"verified"`` renders a ConfigMap
    ``<name>-signature`` (signature + attestation) and an InferenceService running our verified
    predictor (``predictor_image``), which verifies both again with ``predictor_trust`` before
    it reports ready; the manifest file then holds both documents, applied ConfigMap first.
    """
    if mode not in MODES:
        raise InvalidInputError(f"deploy mode {mode!r} is unknown; use one of {', '.join(MODES)}")
    trust = resolve_verification(public_key_path=public_key_path, verification=verification)
    if predictor not in PREDICTORS:
        raise InvalidInputError(
            f"predictor {predictor!r} is unknown; use one of {', '.join(PREDICTORS)}"
        )
    if (predictor == PREDICTOR_VERIFIED) != (predictor_trust is not None):
        raise InvalidInputError(
            "predictor_trust is required with predictor='verified' and only then; pass the "
            "signing method (and identity, issuer) the predictor verifies with"
        )
    blessing = read_blessing(decision_path)
    try:
        actual = model_digest(model_dir)
    except Exception as e:
        raise VerificationError(
            f"model '{model_dir}': cannot recompute its digest ({' '.join(str(e).split())}); "
            "do not deploy"
        ) from e
    if verified_digest != blessing.model_digest:
        raise VerificationError(
            f"model '{model_dir}': verified digest {verified_digest!r} differs from the blessed "
            f"digest {blessing.model_digest}; the inputs come from different runs; do not deploy"
        )
    if actual != blessing.model_digest:
        raise VerificationError(
            f"model '{model_dir}': its digest is now {actual}, not the blessed "
            f"{blessing.model_digest}; the model changed after the gate; do not deploy"
        )
    storage_uri = storage_uri_for(model_uri)
    if mode == DEPLOY_MODE_APPLY:
        require_cluster_reachable(storage_uri)
    documents = _render(
        predictor=predictor,
        name=name,
        namespace=namespace,
        storage_uri=storage_uri,
        model_digest=actual,
        service_account=service_account or None,
        signature_path=signature_path,
        attestation_path=attestation_path,
        trust=predictor_trust,
        image=predictor_image,
    )
    text = yaml.safe_dump_all(documents, sort_keys=True, default_flow_style=False)
    _reverify(
        model_dir=model_dir,
        digest=blessing.model_digest,
        signature_path=signature_path,
        attestation_path=attestation_path,
        verification=trust,
    )
    if mode == DEPLOY_MODE_DRY_RUN:
        status = DEPLOY_MODE_DRY_RUN
    else:
        api_client = kube_api_client if kube_api_client is not None else load_api_client()
        for document in documents[:-1]:  # the ConfigMap the predictor mounts comes first
            apply_config_map(document, api_client=api_client)
        status = apply_inference_service(documents[-1], api_client=api_client)
    try:
        written = write_text_atomic(manifest_path, text)
    except OSError as e:
        done = "" if status == DEPLOY_MODE_DRY_RUN else f"the service was {status}, but "
        raise DeploymentError(
            f"{done}manifest '{manifest_path}' cannot be written ({e.strerror}); check the path"
        ) from e
    return DeployResult(
        status=status,
        name=name,
        namespace=namespace,
        storage_uri=storage_uri,
        model_digest=actual,
        manifest_path=str(Path(written)),
    )


def _render(
    *,
    predictor: str,
    name: str,
    namespace: str,
    storage_uri: str,
    model_digest: str,
    service_account: str | None,
    signature_path: str | os.PathLike[str],
    attestation_path: str | os.PathLike[str],
    trust: PredictorTrust | None,
    image: str,
) -> list[dict[str, Any]]:
    """Return the documents to apply, the InferenceService last."""
    if predictor == PREDICTOR_KSERVE or trust is None:
        isvc = render_inference_service(
            service_account=service_account,
            name=name,
            namespace=namespace,
            storage_uri=storage_uri,
            model_digest=model_digest,
        )
        return [isvc]
    signatures = f"{name}-signature"
    config_map = render_signature_configmap(
        name=signatures,
        namespace=namespace,
        signature_path=signature_path,
        attestation_path=attestation_path,
    )
    isvc = render_verified_predictor_isvc(
        name=name,
        namespace=namespace,
        storage_uri=storage_uri,
        model_digest=model_digest,
        signature_configmap=signatures,
        trust=trust,
        image=image,
        attestation=True,
        service_account=service_account,
    )
    return [config_map, isvc]


def _reverify(
    *,
    model_dir: str | os.PathLike[str],
    digest: str,
    signature_path: str | os.PathLike[str],
    attestation_path: str | os.PathLike[str],
    verification: VerificationConfig,
) -> None:
    """Verify the model signature and the attestation again, both bound to the blessed digest."""
    signed = verification.set_expected_digest(digest).verify(model_dir, signature_path)
    if signed != digest:  # verify already enforces this; never rely on one check only
        raise VerificationError(
            f"model '{model_dir}': the signature covers {signed}, not the blessed {digest}; "
            "do not deploy"
        )
    predicate = verify_attestation(
        attestation_path=attestation_path,
        verification=verification,
        expected_model_digest=digest,
    )
    if predicate.model_digest != digest:
        raise VerificationError(
            f"attestation '{attestation_path}' is about {predicate.model_digest}, not the blessed "
            f"{digest}; do not deploy"
        )
