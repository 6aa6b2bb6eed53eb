"""Render the InferenceService that runs the verified predictor as KServe's custom container.

The pod runs ``mlsecops serve`` (image built with ``docker build --target predictor``) as
``kserve-container`` on port 8080. KServe's storage initializer downloads ``storageUri`` to
``/mnt/models``; the signature, attestation and the gate's signed approval come from a
ConfigMap (:func:`render_signature_configmap`), the verification material from the ConfigMap
that :class:`PredictorTrust` names (public key, CA chain or Sigstore trust config), the
approval public key and the policy floor from the serving namespace's own ConfigMaps. The
predictor verifies all of it before it reports ready, so a model changed in storage after the
gate, or one the gate never approved, never serves. ``manifests/predictor/`` holds the key
variant as kustomize (a test keeps the two identical). Nothing here imports
``kfp_mlsecops.serving``: the deploy step renders, the predictor image serves.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops.deploy.manifest import API_VERSION, KIND, MANAGED_BY, render_inference_service
from kfp_mlsecops.deploy.names import validate_namespace
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.policy import POLICY_CONFIGMAP, POLICY_FILE, POLICY_MOUNT

__all__ = [
    "DEFAULT_PREDICTOR_IMAGE",
    "MODEL_MOUNT",
    "PREDICTOR_COMPONENT",
    "PREDICTOR_CONTAINER",
    "PREDICTOR_PORT",
    "PredictorTrust",
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
#: Pod volume carrying the verification ConfigMap, per method.
_TRUST_VOLUMES = {
    C.SIGNING_METHOD_KEY: "verify-key",
    C.SIGNING_METHOD_CERTIFICATE: "verify-chain",
    C.SIGNING_METHOD_SIGSTORE: "verify-trust",
}
_APPROVAL_VOLUME = "approval-verify"
_POLICY_VOLUME = "policy"
_USER_ID = 10001
#: A ConfigMap holds at most 1 MiB; signature bundles are a few KiB.
_MAX_CONFIGMAP_BYTES = 1024 * 1024 - 4096
_MAX_IDENTITY = 1024
_IMAGE_RE = re.compile(
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
)
_CONFIGMAP_RE = re.compile(r"[a-z0-9]([-a-z0-9]{0,251}[a-z0-9])?")
#: A ConfigMap data key (Kubernetes: ``[-._a-zA-Z0-9]+``, at most 253 characters).
_CONFIGMAP_KEY_RE = re.compile(r"[-._a-zA-Z0-9]{1,253}")
_ISSUER_RE = re.compile(r"https?://[^\s/?#]+(?:/\S*)?")


@dataclass(frozen=True)
class PredictorTrust:
    """How the verified predictor checks the model signature (and the attestation).

    ``method`` is one of ``constants.SIGNING_METHODS``; the ConfigMap ``configmap`` (empty: the
    method's default in ``constants.VERIFY_CONFIGMAPS``) is mounted read-only at
    ``constants.VERIFY_KEY_MOUNT`` and holds:

    - ``key``: ``public-key.pem``; no identity or issuer.
    - ``certificate``: the trusted CA certificate PEM file(s) ``chain_files`` (default
      ``ca-chain.pem``); the leaf must name ``identity`` (subject DN or SAN value).
    - ``sigstore``: ``trust_config.json`` (a ClientTrustConfig, so verification stays offline);
      the signer is ``identity`` as issued by the OIDC ``issuer``.

    Identities and issuers have no defaults. Bad values raise a one-line InvalidInputError.
    """

    method: str = C.SIGNING_METHOD_KEY
    configmap: str = ""
    identity: str | None = None
    issuer: str | None = None
    chain_files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Validate the combination and fill the method's default ConfigMap and chain file."""
        method = self.method
        if method not in C.SIGNING_METHODS:
            raise InvalidInputError(
                f"predictor verification method {method!r} is unknown; use one of "
                f"{', '.join(C.SIGNING_METHODS)}"
            )
        configmap = self.configmap or C.VERIFY_CONFIGMAPS[method]
        _check_configmap(configmap, f"{method} verification ConfigMap")
        object.__setattr__(self, "configmap", configmap)
        wants_identity = method != C.SIGNING_METHOD_KEY
        if wants_identity:
            _check_identity(self.identity, method)
        elif self.identity is not None:
            raise InvalidInputError(
                "predictor verification method 'key' takes no identity; drop it or use the "
                "certificate or sigstore method"
            )
        if method == C.SIGNING_METHOD_SIGSTORE:
            _check_issuer(self.issuer)
        elif self.issuer is not None:
            raise InvalidInputError(
                f"predictor verification method {method!r} takes no issuer (only sigstore does)"
            )
        if isinstance(self.chain_files, str):
            raise InvalidInputError(
                f"chain_files {self.chain_files!r} must be a list of ConfigMap keys, not a string"
            )
        if method == C.SIGNING_METHOD_CERTIFICATE:
            chain = tuple(self.chain_files) or (C.VERIFY_CHAIN_FILE,)
            _check_chain_files(chain, configmap)
            object.__setattr__(self, "chain_files", chain)
        elif self.chain_files:
            raise InvalidInputError(
                f"predictor verification method {method!r} takes no chain_files (only "
                "certificate does)"
            )

    @classmethod
    def from_method(
        cls,
        method: str,
        *,
        configmap: str | None = None,
        identity: str | None = None,
        issuer: str | None = None,
    ) -> PredictorTrust:
        """Build from flat options (CLI or KFP parameters); empty strings count as not given."""
        return cls(
            method=method,
            configmap=configmap or "",
            identity=identity or None,
            issuer=issuer or None,
        )

    def serve_args(self) -> list[str]:
        """Return the ``mlsecops serve`` verification options for the mounted ConfigMap."""
        args = ["--method", self.method]
        if self.method == C.SIGNING_METHOD_KEY:
            return [*args, "--public-key", _in_mount(C.VERIFY_KEY_FILE)]
        if self.method == C.SIGNING_METHOD_CERTIFICATE:
            for name in self.chain_files:
                args += ["--chain", _in_mount(name)]
            return [*args, "--identity", str(self.identity)]
        return [
            *args,
            "--trust-config",
            _in_mount(C.VERIFY_TRUST_CONFIG_FILE),
            "--identity",
            str(self.identity),
            "--issuer",
            str(self.issuer),
        ]

    @property
    def volume_name(self) -> str:
        """The pod volume that carries the ConfigMap."""
        return _TRUST_VOLUMES[self.method]


def predictor_args(
    *,
    name: str,
    trust: PredictorTrust,
    expected_digest: str | None = None,
) -> list[str]:
    """Return the ``mlsecops serve`` arguments the predictor container runs with.

    The predictor verifies the model signature, the robustness attestation and the gate's
    signed approval (with the approval public key from ``APPROVAL_VERIFY_CONFIGMAP``) and
    re-applies the serving namespace's policy floor (``POLICY_CONFIGMAP``) before it is ready.
    """
    if not isinstance(trust, PredictorTrust):
        raise InvalidInputError(
            f"trust must be a PredictorTrust (key, certificate or sigstore), got "
            f"{type(trust).__name__}"
        )
    args = [
        "--model-dir",
        MODEL_MOUNT,
        "--signature",
        f"{C.SIGNATURE_MOUNT}/{C.SIGNATURE_FILE}",
        *trust.serve_args(),
        "--attestation",
        f"{C.SIGNATURE_MOUNT}/{C.ATTESTATION_FILE}",
        "--approval",
        f"{C.SIGNATURE_MOUNT}/{C.APPROVAL_FILE}",
        "--approval-public-key",
        f"{C.APPROVAL_VERIFY_MOUNT}/{C.APPROVAL_VERIFY_FILE}",
        "--policy",
        f"{POLICY_MOUNT}/{POLICY_FILE}",
        "--name",
        name,
        "--host",
        "0.0.0.0",  # noqa: S104 - inside the pod; Knative/Service front it
        "--port",
        str(PREDICTOR_PORT),
    ]
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
    trust: PredictorTrust,
    image: str = DEFAULT_PREDICTOR_IMAGE,
    pin_digest: bool = True,
    service_account: str | None = None,
) -> dict[str, Any]:
    """Return an InferenceService running the verified predictor (custom ``kserve-container``).

    ``signature_configmap`` must hold ``model.sig``, ``attestation.json`` and ``approval.json``;
    see :func:`render_signature_configmap`. ``trust`` says how the signature and attestation
    are verified and which ConfigMap carries the material; the approval is verified with the
    serving namespace's ``APPROVAL_VERIFY_CONFIGMAP`` and its policy against the namespace's
    ``POLICY_CONFIGMAP`` floor (both must exist there). With
    ``pin_digest`` the predictor also refuses any validly signed model whose digest is not
    ``model_digest``. Names, URI and digest are validated like
    :func:`kfp_mlsecops.deploy.render_inference_service` (InvalidInputError).
    """
    base = render_inference_service(
        name=name,
        namespace=namespace,
        storage_uri=storage_uri,
        model_digest=model_digest,
        service_account=service_account,
    )
    _check_configmap(signature_configmap, "signature_configmap")
    if not isinstance(image, str) or not _IMAGE_RE.fullmatch(image):
        raise InvalidInputError(
            f"image {image!r} is not an image reference like registry/name:tag or "
            "registry/name@sha256:<hex>"
        )
    args = predictor_args(
        name=name, trust=trust, expected_digest=model_digest if pin_digest else None
    )
    container = {
        "name": PREDICTOR_CONTAINER,
        "image": image,
        "args": args,
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
            {"name": trust.volume_name, "mountPath": C.VERIFY_KEY_MOUNT, "readOnly": True},
            {"name": _APPROVAL_VOLUME, "mountPath": C.APPROVAL_VERIFY_MOUNT, "readOnly": True},
            {"name": _POLICY_VOLUME, "mountPath": POLICY_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - emptyDir for the private copy
        ],
    }
    predictor: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "containers": [container],
        "volumes": [
            {"name": "model-signature", "configMap": {"name": signature_configmap}},
            {"name": trust.volume_name, "configMap": {"name": trust.configmap}},
            {"name": _APPROVAL_VOLUME, "configMap": {"name": C.APPROVAL_VERIFY_CONFIGMAP}},
            {"name": _POLICY_VOLUME, "configMap": {"name": POLICY_CONFIGMAP}},
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
    files: Mapping[str, str | os.PathLike[str]],
) -> dict[str, Any]:
    """Return the ConfigMap holding the predictor's evidence files (key -> file to read).

    Deploy passes ``model.sig``, ``attestation.json`` and ``approval.json``.
    """
    _check_configmap(name, "signature ConfigMap name")
    validate_namespace(namespace)
    data = {key: _read_text(Path(path), what=key) for key, path in files.items()}
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


def _in_mount(file_name: str) -> str:
    return f"{C.VERIFY_KEY_MOUNT}/{file_name}"


def _check_configmap(name: object, what: str) -> None:
    if not isinstance(name, str) or len(name) > 253 or not _CONFIGMAP_RE.fullmatch(name):
        raise InvalidInputError(f"{what} {name!r} is not a valid ConfigMap name (DNS subdomain)")


def _check_identity(identity: object, method: str) -> None:
    example = "CN=model-signer,O=Example" if method == C.SIGNING_METHOD_CERTIFICATE else "an e-mail"
    if identity is None or identity == "":
        raise InvalidInputError(
            f"predictor verification method {method!r} needs the signer identity "
            f"(e.g. {example}); there is no default"
        )
    if (
        not isinstance(identity, str)
        or len(identity) > _MAX_IDENTITY
        or identity != identity.strip()
        or identity.startswith("-")
        or not identity.isprintable()
    ):
        raise InvalidInputError(
            f"predictor identity {str(identity)[:80]!r} must be one printable line of at most "
            f"{_MAX_IDENTITY} characters, without surrounding spaces or a leading '-'"
        )


def _check_issuer(issuer: object) -> None:
    if issuer is None or issuer == "":
        raise InvalidInputError(
            "predictor verification method 'sigstore' needs the OIDC issuer URL (e.g. "
            "https://accounts.google.com); there is no default"
        )
    if (
        not isinstance(issuer, str)
        or len(issuer) > _MAX_IDENTITY
        or not issuer.isprintable()
        or not _ISSUER_RE.fullmatch(issuer)
    ):
        raise InvalidInputError(
            f"predictor issuer {str(issuer)[:80]!r} is not an OIDC issuer URL like "
            "https://accounts.google.com"
        )


def _check_chain_files(chain: tuple[str, ...], configmap: str) -> None:
    for key in chain:
        if not isinstance(key, str) or not _CONFIGMAP_KEY_RE.fullmatch(key) or key in (".", ".."):
            raise InvalidInputError(
                f"chain file {str(key)[:80]!r} in ConfigMap '{configmap}' is not a ConfigMap key "
                "(letters, digits, '-', '_' and '.'), e.g. ca-chain.pem"
            )
    if len(set(chain)) != len(chain):
        raise InvalidInputError(f"chain files {list(chain)} of ConfigMap '{configmap}' repeat")


def _read_text(path: Path, *, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise InvalidInputError(f"{what} '{path}': file not found; sign the model first") from e
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"{what} '{path}': cannot be read ({type(e).__name__})") from e
