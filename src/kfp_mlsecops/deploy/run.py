"""Deploy a blessed, verified model: re-check blessing and digest, render, dry-run or apply."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kfp_mlsecops._io import write_text_atomic
from kfp_mlsecops.attestation import verify_attestation
from kfp_mlsecops.constants import DEPLOY_MODE_APPLY, DEPLOY_MODE_DRY_RUN
from kfp_mlsecops.deploy.apply import apply_inference_service, load_api_client
from kfp_mlsecops.deploy.manifest import render_inference_service
from kfp_mlsecops.deploy.storage import require_cluster_reachable, storage_uri_for
from kfp_mlsecops.errors import DeploymentError, InvalidInputError, VerificationError
from kfp_mlsecops.gate import read_blessing
from kfp_mlsecops.signing import model_digest, verify_model

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
    public_key_path: str | os.PathLike[str],
    name: str,
    namespace: str,
    mode: str,
    manifest_path: str | os.PathLike[str],
    kube_api_client: Any = None,
    service_account: str | None = None,
) -> DeployResult:
    """Deploy ``model_dir`` (served from ``model_uri``) as a KServe InferenceService.

    Order: read the gate blessing (VerificationError unless approved), recompute the model digest
    and require it to equal both ``verified_digest`` and the blessed digest, render the manifest,
    then, right before touching anything, verify again the model signature (``signature_path``)
    and the robustness attestation (``attestation_path``, subject == the blessed digest), both
    with ``public_key_path``; then write the manifest (``dry-run``) or apply it and write it
    (``apply``; in-cluster config, then kubeconfig, unless ``kube_api_client`` is given).
    Nothing is written or applied when a check fails.
    ``service_account`` (optional) is the account the predictor runs as, e.g. one that carries
    storage credentials.
    """
    if mode not in MODES:
        raise InvalidInputError(f"deploy mode {mode!r} is unknown; use one of {', '.join(MODES)}")
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
    manifest = render_inference_service(
        service_account=service_account or None,
        name=name,
        namespace=namespace,
        storage_uri=storage_uri,
        model_digest=actual,
    )
    text = yaml.safe_dump(manifest, sort_keys=True, default_flow_style=False)
    _reverify(
        model_dir=model_dir,
        digest=blessing.model_digest,
        signature_path=signature_path,
        attestation_path=attestation_path,
        public_key_path=public_key_path,
    )
    if mode == DEPLOY_MODE_DRY_RUN:
        status = DEPLOY_MODE_DRY_RUN
    else:
        api_client = kube_api_client if kube_api_client is not None else load_api_client()
        status = apply_inference_service(manifest, api_client=api_client)
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


def _reverify(
    *,
    model_dir: str | os.PathLike[str],
    digest: str,
    signature_path: str | os.PathLike[str],
    attestation_path: str | os.PathLike[str],
    public_key_path: str | os.PathLike[str],
) -> None:
    """Verify the model signature and the attestation again, both bound to the blessed digest."""
    signed = verify_model(
        model_dir, signature_path, public_key_path=public_key_path, expected_digest=digest
    )
    if signed != digest:  # verify_model already enforces this; never rely on one check only
        raise VerificationError(
            f"model '{model_dir}': the signature covers {signed}, not the blessed {digest}; "
            "do not deploy"
        )
    predicate = verify_attestation(
        attestation_path=attestation_path,
        public_key_path=public_key_path,
        expected_model_digest=digest,
    )
    if predicate.model_digest != digest:
        raise VerificationError(
            f"attestation '{attestation_path}' is about {predicate.model_digest}, not the blessed "
            f"{digest}; do not deploy"
        )
