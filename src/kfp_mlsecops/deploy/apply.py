"""Create or update an InferenceService through the Kubernetes API (kubernetes 30.x client)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from kfp_mlsecops.deploy.manifest import GROUP, PLURAL, VERSION
from kfp_mlsecops.errors import DeploymentError

#: Seconds to wait for one API call (connect, read) before failing.
REQUEST_TIMEOUT = (10, 60)
_CONFLICT = 409


def apply_inference_service(manifest: dict[str, Any], *, api_client: Any) -> str:
    """Create the InferenceService, or merge-patch it if it exists; return "created"/"patched".

    ``api_client`` is a ``kubernetes.client.ApiClient``. Any API failure raises DeploymentError
    with the HTTP status and reason (never request headers or tokens).
    """
    from kubernetes import client  # lazy: only the apply path needs it

    name, namespace = _name_and_namespace(manifest)
    api = client.CustomObjectsApi(api_client)
    return _create_or_patch(
        f"InferenceService '{namespace}/{name}'",
        create=lambda: api.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, manifest, _request_timeout=REQUEST_TIMEOUT
        ),
        patch=lambda: api.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name, manifest, _request_timeout=REQUEST_TIMEOUT
        ),
    )


def apply_config_map(manifest: dict[str, Any], *, api_client: Any) -> str:
    """Create the ConfigMap, or merge-patch it if it exists; return "created"/"patched"."""
    from kubernetes import client

    name, namespace = _name_and_namespace(manifest)
    api = client.CoreV1Api(api_client)
    return _create_or_patch(
        f"ConfigMap '{namespace}/{name}'",
        create=lambda: api.create_namespaced_config_map(
            namespace, manifest, _request_timeout=REQUEST_TIMEOUT
        ),
        patch=lambda: api.patch_namespaced_config_map(
            name, namespace, manifest, _request_timeout=REQUEST_TIMEOUT
        ),
    )


def _name_and_namespace(manifest: dict[str, Any]) -> tuple[str, str]:
    try:
        metadata = manifest["metadata"]
        return metadata["name"], metadata["namespace"]
    except (KeyError, TypeError) as e:
        raise DeploymentError("manifest has no metadata.name/namespace; render it first") from e


def _create_or_patch(where: str, *, create: Callable[[], Any], patch: Callable[[], Any]) -> str:
    """Create; on 409 Conflict merge-patch instead. Errors name ``where`` and the HTTP status."""
    from kubernetes.client.exceptions import ApiException

    try:
        create()
        return "created"
    except ApiException as e:
        if e.status != _CONFLICT:
            raise DeploymentError(f"{where}: create failed ({_describe(e)}); {_hint(e)}") from e
    except Exception as e:
        raise DeploymentError(
            f"{where}: cannot reach the Kubernetes API ({type(e).__name__}); check the cluster "
            "address and network"
        ) from e
    try:
        patch()
    except ApiException as e:
        raise DeploymentError(f"{where}: patch failed ({_describe(e)}); {_hint(e)}") from e
    except Exception as e:
        raise DeploymentError(
            f"{where}: cannot reach the Kubernetes API ({type(e).__name__}) while patching"
        ) from e
    return "patched"


def describe_api_error(error: Any) -> str:
    """Return 'HTTP <status> <reason>: <message>; <what to do>' for an ApiException (one line)."""
    return f"{_describe(error)}; {_hint(error)}"


def _describe(error: Any) -> str:
    """Return 'status reason: message' from an ApiException, without headers."""
    text = f"HTTP {error.status} {error.reason or ''}".strip()
    try:
        message = json.loads(error.body).get("message") if error.body else None
    except (ValueError, TypeError, AttributeError):
        message = None
    if isinstance(message, str) and message:
        message = " ".join(message.split())
        text += f": {message[:200]}"
    return text


def _hint(error: Any) -> str:
    status = error.status
    if status in (401, 403):
        return (
            "grant the pipeline service account get/create/patch on inferenceservices (and "
            "configmaps for the verified predictor) and get on deployments.apps; see "
            "manifests/pipeline-rbac"
        )
    if status == 404:
        return "check the namespace exists and KServe's CRDs are installed"
    if status == 422 or status == 400:
        return "the manifest was refused; check the KServe version and fields"
    return "check the cluster and retry"


def load_api_client() -> Any:
    """Return a ``kubernetes.client.ApiClient``: in-cluster config first, then kubeconfig."""
    from kubernetes import client, config

    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
    except config.ConfigException:
        try:
            # Read $KUBECONFIG now: the client library only reads it once, when first imported.
            config.load_kube_config(
                config_file=os.environ.get("KUBECONFIG") or None,
                client_configuration=configuration,
            )
        except Exception as e:
            raise DeploymentError(
                "no Kubernetes config: not running in a cluster and no usable kubeconfig "
                f"({type(e).__name__}); run inside the cluster or set KUBECONFIG"
            ) from e
    return client.ApiClient(configuration)
