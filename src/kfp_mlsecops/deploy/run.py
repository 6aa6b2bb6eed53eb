"""Deploy a blessed, verified model: re-check blessing and digest, render, dry-run or apply."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kfp_mlsecops._io import write_text_atomic
from kfp_mlsecops.constants import DEPLOY_MODE_APPLY, DEPLOY_MODE_DRY_RUN
from kfp_mlsecops.deploy.apply import apply_inference_service, load_api_client
from kfp_mlsecops.deploy.manifest import render_inference_service
from kfp_mlsecops.deploy.storage import require_cluster_reachable, storage_uri_for
from kfp_mlsecops.errors import DeploymentError, InvalidInputError, VerificationError
from kfp_mlsecops.gate import read_blessing
from kfp_mlsecops.signing import model_digest

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
    name: str,
    namespace: str,
    mode: str,
    manifest_path: str | os.PathLike[str],
    kube_api_client: Any = None,
) -> DeployResult:
    """Deploy ``model_dir`` (served from ``model_uri``) as a KServe InferenceService.

    Order: read the gate blessing (VerificationError unless approved), recompute the model digest
    and require it to equal both ``verified_digest`` and the blessed digest, render the manifest,
    then write it (``dry-run``) or apply it and write it (``apply``; in-cluster config, then
    kubeconfig, unless ``kube_api_client`` is given). Nothing is written when a check fails.
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
        name=name, namespace=namespace, storage_uri=storage_uri, model_digest=actual
    )
    text = yaml.safe_dump(manifest, sort_keys=True, default_flow_style=False)
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
