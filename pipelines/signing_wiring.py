"""Where each signing method's material, the approval key and the policy floor are mounted.

The method is chosen when the pipeline is compiled (kfp-kubernetes mounts are static). For every
method the signing material is ONE Secret mounted at ``SIGNING_KEY_MOUNT`` on the two signing
tasks (sign model, attest robustness) and the verification material ONE ConfigMap mounted at
``VERIFY_KEY_MOUNT`` on the gate and deploy tasks; no other task mounts either. Each method's
Secret, ConfigMap and file names are its :class:`~kfp_mlsecops.signing.method.ClusterWiring`
(in the signing registry); :data:`WIRINGS` turns them into the pipeline's parameter defaults:

| method | Secret keys (signing tasks) | ConfigMap keys (gate, deploy) |
| --- | --- | --- |
| key | ``private-key.pem`` | ``public-key.pem`` |
| certificate | ``private-key.pem``, ``certificate.pem``, ``chain.pem`` | ``ca-chain.pem`` |
| sigstore | ``token`` (an OIDC identity token, audience ``sigstore``) | ``trust_config.json`` |

The Sigstore token Secret is mounted as optional, so ``use_ambient_credentials=True`` (with an
empty ``identity_token_path``) works without it.

Whatever the method, the gate's own approval key (Secret ``mlsecops-approval-key``) is mounted
on the gate task only, its public key (ConfigMap ``mlsecops-approval-verify``) on deploy only,
and the policy floor (ConfigMap ``mlsecops-policy``, not optional) on gate and deploy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from kfp import dsl, kubernetes

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.policy import POLICY_CONFIGMAP, POLICY_MOUNT
from kfp_mlsecops.signing.method import SigningMethod
from kfp_mlsecops.signing.registry import get_method, method_names

__all__ = [
    "SIGNING_PARAMETERS",
    "TRUST_PARAMETERS",
    "WIRINGS",
    "SigningWiring",
    "mount_approval_key",
    "mount_approval_verification",
    "mount_policy_floor",
    "mount_signing_material",
    "mount_verification_material",
]

#: The pipeline parameter carrying each flat signing option (sign model, attest robustness).
SIGNING_PARAMETERS = {
    "private_key_path": "private_key_path",
    "password_path": "password_path",
    "certificate_path": "certificate_path",
    "chain_paths": "chain_paths",
    "identity_token_path": "identity_token_path",
    "use_ambient_credentials": "use_ambient_credentials",
    "trust_config_path": "signing_trust_config_path",
}
#: The pipeline parameter carrying each flat verification option (gate, deploy).
TRUST_PARAMETERS = {
    "public_key_path": "public_key_path",
    "chain_paths": "verify_chain_paths",
    "identity": "signer_identity",
    "issuer": "oidc_issuer",
    "trust_config_path": "trust_config_path",
}


@dataclass(frozen=True)
class SigningWiring:
    """The compiled pipeline's defaults for one signing method (names and in-pod paths)."""

    method: str
    signing_secret: str
    verify_configmap: str
    private_key_path: str = ""
    certificate_path: str = ""
    chain_paths: tuple[str, ...] = ()
    identity_token_path: str = ""
    public_key_path: str = ""
    verify_chain_paths: tuple[str, ...] = ()
    trust_config_path: str = ""
    description: str = field(default="", compare=False)

    @classmethod
    def of(cls, method: SigningMethod) -> SigningWiring:
        """Return the defaults for ``method``: its Secret, ConfigMap and files in their mounts."""
        wiring = method.wiring
        defaults = {
            SIGNING_PARAMETERS[option]: _in_mount(C.SIGNING_KEY_MOUNT, files)
            for option, files in wiring.signing_files.items()
        }
        defaults.update(
            (TRUST_PARAMETERS[option], _in_mount(C.VERIFY_KEY_MOUNT, files))
            for option, files in wiring.verify_files.items()
        )
        unsupported = sorted(set(defaults) - set(cls.__dataclass_fields__))
        if unsupported:
            raise InvalidInputError(
                f"signing method {method.name!r}: the pipeline has no mounted default for "
                f"{', '.join(unsupported)}; pass those options as run parameters instead"
            )
        return cls(
            method=method.name,
            signing_secret=wiring.signing_secret,
            verify_configmap=wiring.verify_configmap,
            description=method.description,
            **defaults,  # type: ignore[arg-type]
        )


class _Wirings(Mapping[str, SigningWiring]):
    """Every registered method's :class:`SigningWiring`, read from the registry on lookup."""

    def __getitem__(self, method: str) -> SigningWiring:
        if method not in method_names():
            raise KeyError(method)
        return SigningWiring.of(get_method(method))

    def __iter__(self) -> Iterator[str]:
        return iter(method_names())

    def __len__(self) -> int:
        return len(method_names())


#: Method name -> its compiled defaults, for every method in the signing registry.
WIRINGS: Mapping[str, SigningWiring] = _Wirings()


def _in_mount(mount: str, files: str | tuple[str, ...]) -> str | tuple[str, ...]:
    if isinstance(files, str):
        return f"{mount}/{files}"
    return tuple(f"{mount}/{name}" for name in files)


def mount_signing_material(task: dsl.PipelineTask, *, method: str, secret: object) -> None:
    """Mount the signing Secret on a signing task (optional when the method allows, e.g. OIDC)."""
    kubernetes.use_secret_as_volume(
        task,
        secret_name=secret,  # type: ignore[arg-type]
        mount_path=C.SIGNING_KEY_MOUNT,
        optional=get_method(method).wiring.secret_optional,
    )


def mount_verification_material(task: dsl.PipelineTask, *, configmap: object) -> None:
    """Mount the verification ConfigMap on a verifying task (gate, deploy)."""
    kubernetes.use_config_map_as_volume(
        task,
        config_map_name=configmap,  # type: ignore[arg-type]
        mount_path=C.VERIFY_KEY_MOUNT,
    )


def mount_approval_key(task: dsl.PipelineTask) -> None:
    """Mount the gate's approval key Secret (the gate task ONLY; never a signing task)."""
    kubernetes.use_secret_as_volume(
        task, secret_name=C.APPROVAL_SECRET, mount_path=C.APPROVAL_KEY_MOUNT, optional=False
    )


def mount_audit_key(task: dsl.PipelineTask) -> None:
    """Mount the audit key Secret (gate and deploy); optional: absent, audit_log must stay off."""
    kubernetes.use_secret_as_volume(
        task, secret_name=C.AUDIT_SECRET, mount_path=C.AUDIT_KEY_MOUNT, optional=True
    )


def mount_approval_verification(task: dsl.PipelineTask) -> None:
    """Mount the ConfigMap with the gate's approval public key (deploy)."""
    kubernetes.use_config_map_as_volume(
        task, config_map_name=C.APPROVAL_VERIFY_CONFIGMAP, mount_path=C.APPROVAL_VERIFY_MOUNT
    )


def mount_policy_floor(task: dsl.PipelineTask) -> None:
    """Mount the namespace's policy floor ConfigMap (gate and deploy); a missing one fails."""
    kubernetes.use_config_map_as_volume(
        task, config_map_name=POLICY_CONFIGMAP, mount_path=POLICY_MOUNT, optional=False
    )
