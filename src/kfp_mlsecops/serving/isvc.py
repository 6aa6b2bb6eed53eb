"""Render the InferenceService that runs the verified predictor as KServe's custom container.

The pod runs ``mlsecops serve`` (image built with ``docker build --target predictor``) as
``kserve-container`` on port 8080. KServe's storage initializer downloads ``storageUri`` to
``/mnt/models``; the signature (and optional attestation) come from a ConfigMap and the public
key from the ``mlsecops-verify-key`` ConfigMap. The predictor verifies all of it before it reports
ready, so a model changed in storage after the gate never serves. ``manifests/predictor/`` holds
the same resource as kustomize (a test keeps the two identical).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops.deploy.manifest import API_VERSION, KIND, MANAGED_BY, render_inference_service
from kfp_mlsecops.deploy.names import validate_namespace
from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "DEFAULT_PREDICTOR_IMAGE",
    "MODEL_MOUNT",
    "PREDICTOR_COMPONENT",
    "PREDICTOR_CONTAINER",
    "PREDICTOR_PORT",
    "predictor_args",
    "render_signature_configmap",
    "render_verified_predictor_isvc",
]

DEFAULT_PREDICTOR_IMAGE = C.DEFAULT_PREDICTOR_IMAGE
PREDICTOR_CONTAINER = "kserve-container"
PREDICTOR_PORT = 8080
MODEL_MOUNT = "/mnt/models"
#: ``app.kubernetes.io/component`` of the predictor (monitoring selects pods by it).
PREDICTOR_COMPONENT = "verified-predictor"
DEFAULT_VERIFY_KEY_CONFIGMAP = "mlsecops-verify-key"
_USER_ID = 10001
#: A ConfigMap holds at most 1 MiB; signature bundles are a few KiB.
_MAX_CONFIGMAP_BYTES = 1024 * 1024 - 4096
_IMAGE_RE = re.compile(
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
)
_CONFIGMAP_RE = re.compile(r"[a-z0-9]([-a-z0-9]{0,251}[a-z0-9])?")


def predictor_args(
    *, name: str, attestation: bool = False, expected_digest: str | None = None
) -> list[str]:
    """Return the ``mlsecops serve`` arguments the predictor container runs with."""
    args = [
        "--model-dir",
        MODEL_MOUNT,
        "--signature",
        f"{C.SIGNATURE_MOUNT}/{C.SIGNATURE_FILE}",
        "--public-key",
        f"{C.VERIFY_KEY_MOUNT}/{C.VERIFY_KEY_FILE}",
        "--name",
        name,
        "--host",
        "0.0.0.0",  # noqa: S104 - inside the pod; Knative/Service front it
        "--port",
        str(PREDICTOR_PORT),
    ]
    if attestation:
        args += ["--attestation", f"{C.SIGNATURE_MOUNT}/{C.ATTESTATION_FILE}"]
    if expected_digest is not None:
        args += ["--expected-digest", expected_digest]
    return args


def render_verified_predictor_isvc(
    *,
    name: str,
    namespace: str,
    storage_uri: str,
    model_digest: str,
    signature_configmap: str,
    image: str = DEFAULT_PREDICTOR_IMAGE,
    public_key_configmap: str = DEFAULT_VERIFY_KEY_CONFIGMAP,
    attestation: bool = False,
    pin_digest: bool = True,
    service_account: str | None = None,
) -> dict[str, Any]:
    """Return an InferenceService running the verified predictor (custom ``kserve-container``).

    ``signature_configmap`` must hold ``model.sig`` (and ``attestation.json`` when
    ``attestation``); see :func:`render_signature_configmap`. With ``pin_digest`` the predictor
    also refuses any validly signed model whose digest is not ``model_digest``. Names, URI and
    digest are validated like :func:`kfp_mlsecops.deploy.render_inference_service`
    (InvalidInputError).
    """
    base = render_inference_service(
        name=name,
        namespace=namespace,
        storage_uri=storage_uri,
        model_digest=model_digest,
        service_account=service_account,
    )
    _check_configmap(signature_configmap, "signature_configmap")
    _check_configmap(public_key_configmap, "public_key_configmap")
    if not isinstance(image, str) or not _IMAGE_RE.fullmatch(image):
        raise InvalidInputError(
            f"image {image!r} is not an image reference like registry/name:tag or "
            "registry/name@sha256:<hex>"
        )
    container = {
        "name": PREDICTOR_CONTAINER,
        "image": image,
        "args": predictor_args(
            name=name, attestation=attestation, expected_digest=model_digest if pin_digest else None
        ),
        "env": [
            {"name": "STORAGE_URI", "value": base["spec"]["predictor"]["model"]["storageUri"]},
            {"name": "TF_CPP_MIN_LOG_LEVEL", "value": "2"},
            # The root filesystem is read-only; Keras keeps its config under KERAS_HOME.
            {"name": "KERAS_HOME", "value": "/tmp/keras"},  # noqa: S108
        ],
        "ports": [{"containerPort": PREDICTOR_PORT, "protocol": "TCP"}],
        "readinessProbe": {
            "httpGet": {"path": f"/v1/models/{name}", "port": PREDICTOR_PORT},
            "periodSeconds": 5,
        },
        "resources": {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"memory": "2Gi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": _USER_ID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "model-signature", "mountPath": C.SIGNATURE_MOUNT, "readOnly": True},
            {"name": "verify-key", "mountPath": C.VERIFY_KEY_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - emptyDir for the private copy
        ],
    }
    predictor: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "containers": [container],
        "volumes": [
            {"name": "model-signature", "configMap": {"name": signature_configmap}},
            {"name": "verify-key", "configMap": {"name": public_key_configmap}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "2Gi"}},
        ],
    }
    if service_account is not None:
        predictor["serviceAccountName"] = base["spec"]["predictor"]["serviceAccountName"]
    metadata = base["metadata"]
    metadata["labels"]["app.kubernetes.io/component"] = PREDICTOR_COMPONENT
    metadata["labels"]["app.kubernetes.io/part-of"] = MANAGED_BY
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {"predictor": predictor},
    }


def render_signature_configmap(
    *,
    name: str,
    namespace: str,
    signature_path: str | os.PathLike[str],
    attestation_path: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Return the ConfigMap holding ``model.sig`` (and ``attestation.json``) for the predictor."""
    _check_configmap(name, "signature ConfigMap name")
    validate_namespace(namespace)
    data = {C.SIGNATURE_FILE: _read_text(Path(signature_path), what="signature")}
    if attestation_path is not None:
        data[C.ATTESTATION_FILE] = _read_text(Path(attestation_path), what="attestation")
    if sum(len(v.encode()) for v in data.values()) > _MAX_CONFIGMAP_BYTES:
        raise InvalidInputError(
            f"signature ConfigMap '{name}': the files exceed a ConfigMap's 1 MiB; mount them "
            "from a volume instead"
        )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": MANAGED_BY},
        },
        "data": data,
    }


def _check_configmap(name: object, what: str) -> None:
    if not isinstance(name, str) or len(name) > 253 or not _CONFIGMAP_RE.fullmatch(name):
        raise InvalidInputError(f"{what} {name!r} is not a valid ConfigMap name (DNS subdomain)")


def _read_text(path: Path, *, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise InvalidInputError(f"{what} '{path}': file not found; sign the model first") from e
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"{what} '{path}': cannot be read ({type(e).__name__})") from e
