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
from kfp_mlsecops.deploy.manifest import (
    API_VERSION,
    KIND,
    MANAGED_BY,
    check_canary_traffic_percent,
    render_inference_service,
)
from kfp_mlsecops.deploy.names import validate_image, validate_namespace
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.policy import POLICY_CONFIGMAP, POLICY_FILE, POLICY_MOUNT
from kfp_mlsecops.signing.method import SigningMethod
from kfp_mlsecops.signing.registry import all_methods, get_method

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
#: The ``mlsecops serve`` option naming each file-valued verification option's file.
_SERVE_FILE_FLAGS = {
    "public_key_path": "--public-key",
    "chain_paths": "--chain",
    "trust_config_path": "--trust-config",
}
_APPROVAL_VOLUME = "approval-verify"
_POLICY_VOLUME = "policy"
_USER_ID = 10001
#: A ConfigMap holds at most 1 MiB; signature bundles are a few KiB.
_MAX_CONFIGMAP_BYTES = 1024 * 1024 - 4096
_MAX_IDENTITY = 1024
_CONFIGMAP_RE = re.compile(r"[a-z0-9]([-a-z0-9]{0,251}[a-z0-9])?")
#: A ConfigMap data key (Kubernetes: ``[-._a-zA-Z0-9]+``, at most 253 characters).
_CONFIGMAP_KEY_RE = re.compile(r"[-._a-zA-Z0-9]{1,253}")
_ISSUER_RE = re.compile(r"https?://[^\s/?#]+(?:/\S*)?")


@dataclass(frozen=True)
class PredictorTrust:
    """How the verified predictor checks the model signature (and the attestation).

    ``method`` is any signing method (``kfp_mlsecops.signing.registry``); the ConfigMap
    ``configmap`` (empty: the method's default, its wiring's ``verify_configmap``) is mounted
    read-only at ``constants.VERIFY_KEY_MOUNT`` (pod volume: the wiring's ``predictor_volume``)
    and holds the files of the wiring's ``verify_files``; ``identity`` and ``issuer`` are taken
    exactly when the method's verification options name them. For the built-in methods:

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
        signing = get_method(self.method, what="predictor verification method")
        method = signing.name
        configmap = self.configmap or signing.wiring.verify_configmap
        _check_configmap(configmap, f"{method} verification ConfigMap")
        object.__setattr__(self, "configmap", configmap)
        if _takes(signing, "identity"):
            _check_identity(self.identity, signing)
        elif self.identity is not None:
            raise InvalidInputError(
                f"predictor verification method {method!r} takes no identity; drop it or use the "
                f"{' or '.join(_taking('identity'))} method"
            )
        if _takes(signing, "issuer"):
            _check_issuer(self.issuer, method)
        elif self.issuer is not None:
            raise InvalidInputError(
                f"predictor verification method {method!r} takes no issuer ({_only('issuer')})"
            )
        if isinstance(self.chain_files, str):
            raise InvalidInputError(
                f"chain_files {self.chain_files!r} must be a list of ConfigMap keys, not a string"
            )
        default_chain = signing.wiring.verify_files.get("chain_paths")
        if default_chain is not None:
            chain = tuple(self.chain_files) or _files(default_chain)
            _check_chain_files(chain, configmap)
            object.__setattr__(self, "chain_files", chain)
        elif self.chain_files:
            raise InvalidInputError(
                f"predictor verification method {method!r} takes no chain_files "
                f"({_only('chain_paths', files=True)})"
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
        signing = get_method(self.method)
        args = ["--method", self.method]
        for option, files in signing.wiring.verify_files.items():
            names = self.chain_files if option == "chain_paths" else _files(files)
            for name in names:
                args += [_SERVE_FILE_FLAGS[option], _in_mount(name)]
        if _takes(signing, "identity"):
            args += ["--identity", str(self.identity)]
        if _takes(signing, "issuer"):
            args += ["--issuer", str(self.issuer)]
        return args

    @property
    def volume_name(self) -> str:
        """The pod volume that carries the ConfigMap."""
        return get_method(self.method).wiring.predictor_volume


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
    canary_traffic_percent: int | None = None,
) -> dict[str, Any]:
    """Return an InferenceService running the verified predictor (custom ``kserve-container``).

    ``signature_configmap`` must hold ``model.sig``, ``attestation.json`` and ``approval.json``;
    see :func:`render_signature_configmap`. ``trust`` says how the signature and attestation
    are verified and which ConfigMap carries the material; the approval is verified with the
    serving namespace's ``APPROVAL_VERIFY_CONFIGMAP`` and its policy against the namespace's
    ``POLICY_CONFIGMAP`` floor (both must exist there). With
    ``pin_digest`` the predictor also refuses any validly signed model whose digest is not
    ``model_digest``. Names, URI and digest are validated like
    :func:`kfp_mlsecops.deploy.render_inference_service` (InvalidInputError), and so is
    ``canary_traffic_percent`` (KServe's Serverless mode only; RawDeployment ignores it).
    """
    base = render_inference_service(
        name=name,
        namespace=namespace,
        storage_uri=storage_uri,
        model_digest=model_digest,
        service_account=service_account,
    )
    _check_configmap(signature_configmap, "signature_configmap")
    validate_image(image)
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
    if canary_traffic_percent is not None:
        predictor["canaryTrafficPercent"] = check_canary_traffic_percent(canary_traffic_percent)
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


def _files(files: str | tuple[str, ...]) -> tuple[str, ...]:
    return (files,) if isinstance(files, str) else tuple(files)


def _takes(method: SigningMethod, option: str) -> bool:
    return option in method.verification_options


def _taking(option: str, *, files: bool = False) -> list[str]:
    """Return the methods taking a verification ``option`` (with a ConfigMap file for it)."""
    return [
        m.name
        for m in all_methods()
        if (option in m.wiring.verify_files if files else _takes(m, option))
    ]


def _only(option: str, *, files: bool = False) -> str:
    names = _taking(option, files=files)
    return f"only {' and '.join(names)} {'does' if len(names) == 1 else 'do'}"


def _check_configmap(name: object, what: str) -> None:
    if not isinstance(name, str) or len(name) > 253 or not _CONFIGMAP_RE.fullmatch(name):
        raise InvalidInputError(f"{what} {name!r} is not a valid ConfigMap name (DNS subdomain)")


def _check_identity(identity: object, method: SigningMethod) -> None:
    if identity is None or identity == "":
        example = f" (e.g. {method.identity_example})" if method.identity_example else ""
        raise InvalidInputError(
            f"predictor verification method {method.name!r} needs the signer identity"
            f"{example}; there is no default"
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


def _check_issuer(issuer: object, method: str) -> None:
    if issuer is None or issuer == "":
        raise InvalidInputError(
            f"predictor verification method {method!r} needs the OIDC issuer URL (e.g. "
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
