"""Where each signing method's material, the approval key and the policy floor are mounted.

The method is chosen when the pipeline is compiled (kfp-kubernetes mounts are static). For every
method the signing material is ONE Secret mounted at ``SIGNING_KEY_MOUNT`` on the two signing
tasks (sign model, attest robustness) and the verification material ONE ConfigMap mounted at
``VERIFY_KEY_MOUNT`` on the gate and deploy tasks; no other task mounts either.

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

from dataclasses import dataclass, field

from kfp import dsl, kubernetes

from kfp_mlsecops import constants as C
from kfp_mlsecops.policy import POLICY_CONFIGMAP, POLICY_MOUNT

__all__ = [
    "WIRINGS",
    "SigningWiring",
    "mount_approval_key",
    "mount_approval_verification",
    "mount_policy_floor",
    "mount_signing_material",
    "mount_verification_material",
]


def _signing(name: str) -> str:
    return f"{C.SIGNING_KEY_MOUNT}/{name}"


def _verify(name: str) -> str:
    return f"{C.VERIFY_KEY_MOUNT}/{name}"


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


WIRINGS: dict[str, SigningWiring] = {
    C.SIGNING_METHOD_KEY: SigningWiring(
        method=C.SIGNING_METHOD_KEY,
        signing_secret="mlsecops-signing-key",  # noqa: S106 - a Secret name, not a secret
        verify_configmap=C.VERIFY_CONFIGMAPS[C.SIGNING_METHOD_KEY],
        private_key_path=_signing(C.SIGNING_KEY_FILE),
        public_key_path=_verify(C.VERIFY_KEY_FILE),
        description="ECDSA key pair",
    ),
    C.SIGNING_METHOD_CERTIFICATE: SigningWiring(
        method=C.SIGNING_METHOD_CERTIFICATE,
        signing_secret="mlsecops-signing-certificate",  # noqa: S106 - a Secret name
        verify_configmap=C.VERIFY_CONFIGMAPS[C.SIGNING_METHOD_CERTIFICATE],
        private_key_path=_signing(C.SIGNING_KEY_FILE),
        certificate_path=_signing(C.SIGNING_CERTIFICATE_FILE),
        chain_paths=(_signing(C.SIGNING_CHAIN_FILE),),
        verify_chain_paths=(_verify(C.VERIFY_CHAIN_FILE),),
        description="PKI code-signing certificate, checked against a CA chain and an identity",
    ),
    C.SIGNING_METHOD_SIGSTORE: SigningWiring(
        method=C.SIGNING_METHOD_SIGSTORE,
        signing_secret="mlsecops-sigstore-token",  # noqa: S106 - a Secret name
        verify_configmap=C.VERIFY_CONFIGMAPS[C.SIGNING_METHOD_SIGSTORE],
        identity_token_path=_signing(C.SIGSTORE_TOKEN_FILE),
        trust_config_path=_verify(C.VERIFY_TRUST_CONFIG_FILE),
        description="Sigstore keyless, verified offline: identity, issuer, trust config",
    ),
}


def mount_signing_material(task: dsl.PipelineTask, *, method: str, secret: object) -> None:
    """Mount the signing Secret on a signing task (optional for Sigstore: ambient credentials)."""
    kubernetes.use_secret_as_volume(
        task,
        secret_name=secret,  # type: ignore[arg-type]
        mount_path=C.SIGNING_KEY_MOUNT,
        optional=method == C.SIGNING_METHOD_SIGSTORE,
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
