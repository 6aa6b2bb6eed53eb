"""Render the KServe InferenceService for a verified model as a plain dict."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from kfp_mlsecops._fields import DIGEST_RE as _DIGEST_RE
from kfp_mlsecops.constants import MODEL_DIGEST_ANNOTATION
from kfp_mlsecops.deploy.names import (
    check_host_label,
    validate_namespace,
    validate_service_account,
    validate_service_name,
)
from kfp_mlsecops.deploy.storage import LOCAL_SCHEME, REMOTE_SCHEMES
from kfp_mlsecops.errors import InvalidInputError

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"
GROUP, VERSION = API_VERSION.split("/")
PLURAL = "inferenceservices"
MODEL_FORMAT = "tensorflow"
MANAGED_BY = "kfp-mlsecops"
_RUNTIME_VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def render_inference_service(
    *,
    name: str,
    namespace: str,
    storage_uri: str,
    model_digest: str,
    service_account: str | None = None,
    runtime_version: str | None = None,
    canary_traffic_percent: int | None = None,
) -> dict[str, Any]:
    """Return an InferenceService (TensorFlow predictor) annotated with the verified digest.

    Every argument is validated (InvalidInputError): DNS names, a storage URI from
    :func:`~kfp_mlsecops.deploy.storage.storage_uri_for`, and a ``sha256:<hex>`` digest.
    ``canary_traffic_percent`` (an int 0-100) becomes ``spec.predictor.canaryTrafficPercent``:
    the share of traffic the new revision gets next to the last ready one. Only KServe's
    Serverless (Knative) mode splits traffic; RawDeployment accepts the field and ignores it.
    """
    validate_service_name(name)
    validate_namespace(namespace)
    check_host_label(name, namespace)
    scheme = urlsplit(storage_uri).scheme.lower() if isinstance(storage_uri, str) else ""
    if scheme not in (*REMOTE_SCHEMES, LOCAL_SCHEME):
        raise InvalidInputError(
            f"storage URI {storage_uri!r} is not one storage_uri_for() returns; map it first"
        )
    if not isinstance(model_digest, str) or not _DIGEST_RE.fullmatch(model_digest):
        raise InvalidInputError(f"model digest {model_digest!r} is not 'sha256:<64 hex>'")
    model: dict[str, Any] = {"modelFormat": {"name": MODEL_FORMAT}, "storageUri": storage_uri}
    if runtime_version is not None:
        if not isinstance(runtime_version, str) or not _RUNTIME_VERSION_RE.fullmatch(
            runtime_version
        ):
            raise InvalidInputError(
                f"runtime version {runtime_version!r} must look like an image tag, e.g. '2.6.2'"
            )
        model["runtimeVersion"] = runtime_version
    predictor: dict[str, Any] = {"model": model}
    if canary_traffic_percent is not None:
        predictor["canaryTrafficPercent"] = check_canary_traffic_percent(canary_traffic_percent)
    if service_account is not None:
        predictor["serviceAccountName"] = validate_service_account(service_account)
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/name": name,
                "app.kubernetes.io/managed-by": MANAGED_BY,
            },
            "annotations": {MODEL_DIGEST_ANNOTATION: model_digest},
        },
        "spec": {"predictor": predictor},
    }


def check_canary_traffic_percent(percent: object) -> int:
    """Return ``percent`` if it is an int from 0 to 100 (InvalidInputError otherwise)."""
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise InvalidInputError(
            f"canary traffic percent {percent!r} must be an integer from 0 to 100 (the share "
            "of requests the new revision gets)"
        )
    return percent
