"""What a signing method is: one object holding its signer, verifier, options and cluster wiring.

A method module (``_key``, ``_certificate``, ``_sigstore`` in this package) defines one
:class:`SigningMethod` named ``METHOD``; :mod:`.registry` maps names to methods. Everything else
reads the method from there: :class:`~kfp_mlsecops.signing.SigningConfig` /
:class:`~kfp_mlsecops.signing.VerificationConfig` (``from_method``), the attestation and the
gate's approval (:class:`EnvelopeSigner` / :class:`EnvelopeVerifier`), the pipeline's mounts
(:class:`ClusterWiring`) and the verified predictor's ``mlsecops serve`` options.

This module and :mod:`.registry` import no crypto library, so the command line lists methods
cheaply; a method module is imported when its method is first used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from kfp_mlsecops.errors import InvalidInputError, VerificationError

if TYPE_CHECKING:
    from model_signing import signing as ms_signing
    from model_signing import verifying as ms_verifying

__all__ = [
    "SIGNING_OPTIONS",
    "VERIFICATION_OPTIONS",
    "ClusterWiring",
    "EnvelopeSigner",
    "EnvelopeVerifier",
    "Fail",
    "Policy",
    "Signer",
    "SigningMethod",
]

#: Every flat signing option (``SigningConfig.from_method``, the sign and attest components).
SIGNING_OPTIONS = (
    "private_key_path",
    "password_path",
    "certificate_path",
    "chain_paths",
    "identity_token_path",
    "use_ambient_credentials",
    "trust_config_path",
)
#: Every flat verification option (``VerificationConfig.from_method``, gate, deploy, serve).
VERIFICATION_OPTIONS = ("public_key_path", "chain_paths", "identity", "issuer", "trust_config_path")

#: The options naming files; a method must ship its verification ones in its ConfigMap.
_FILE_OPTIONS = {
    "private_key_path",
    "password_path",
    "certificate_path",
    "chain_paths",
    "identity_token_path",
    "trust_config_path",
    "public_key_path",
}

#: Builds the one-line VerificationError for a reason (prefix and advice filled in).
Fail = Callable[[str], VerificationError]

_NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,30}")


class EnvelopeSigner(Protocol):
    """Signs in-toto Statement bytes into a signed document (attestation, approval)."""

    def describe(self) -> str:
        """Return a short description of the signer for messages (no secrets)."""

    def sign(self, payload: bytes) -> bytes:
        """Return the signed document for ``payload``; SigningError on key problems."""


class EnvelopeVerifier(Protocol):
    """Checks a signed document and returns the payload its signature covers."""

    def describe(self) -> str:
        """Return a short description of the verifier for messages."""

    def verify(self, document: bytes) -> bytes:
        """Return the verified payload bytes; ValueError with a short reason otherwise."""


class Signer(Protocol):
    """A method's signing backend: it holds paths only, so its ``repr`` is safe to log."""

    def prepare(self) -> tuple[ms_signing.Config, str]:
        """Check every input (one-line SigningError) and return model-signing's config + what."""

    def public_key_pem(self) -> bytes | None:
        """Return the PEM public key of the signing key, or None when the method has none."""

    def envelope_signer(self) -> EnvelopeSigner:
        """Return the Statement signer using the same material."""


class Policy(Protocol):
    """A method's verification backend: what the caller trusts; nothing has a default.

    ``VerificationConfig.verify`` runs, in order: ``check_inputs``, ``check_material`` on the
    bundle, model-signing with ``config()``, then ``check_verified`` on the verified bundle. Each
    step raises through ``fail``, which builds the one-line VerificationError.
    """

    @property
    def what(self) -> str:
        """How the trusted material is named in messages."""

    def check_inputs(self, fail: Fail) -> None:
        """Refuse missing or unusable trusted material."""

    def check_material(self, kind: str, fail: Fail) -> None:
        """Refuse a bundle whose verification material belongs to another method."""

    def config(self) -> ms_verifying.Config:
        """Return model-signing's verifier config."""

    def check_verified(self, bundle: dict[str, Any], fail: Fail) -> None:
        """Add the checks model-signing leaves out, on the verified bundle."""

    def public_key_pem(self) -> bytes | None:
        """Return the trusted PEM public key, or None when the method trusts no single key."""

    def envelope_verifier(self) -> EnvelopeVerifier:
        """Return the Statement verifier trusting the same material."""


@dataclass(frozen=True)
class ClusterWiring:
    """Where a method's material lives on a cluster: names and file names, never material.

    The signing Secret is mounted at ``constants.SIGNING_KEY_MOUNT`` on the signing tasks, the
    verification ConfigMap at ``constants.VERIFY_KEY_MOUNT`` on gate, deploy and the verified
    predictor. ``signing_files`` / ``verify_files`` map a flat option to the file (a tuple for a
    list option such as ``chain_paths``) it defaults to inside that mount.
    """

    signing_secret: str
    verify_configmap: str
    signing_files: Mapping[str, str | tuple[str, ...]]
    verify_files: Mapping[str, str | tuple[str, ...]]
    #: The verified predictor's pod volume carrying the verification ConfigMap.
    predictor_volume: str
    #: True when signing may run without the Secret (e.g. ambient OIDC credentials).
    secret_optional: bool = False


@dataclass(frozen=True)
class SigningMethod:
    """One signing method: its backends, the flat options each side takes, its cluster wiring.

    ``signer_from`` / ``policy_from`` build the backends from the method's own flat options
    (unset options are None, an unset list is empty) and raise a one-line InvalidInputError for
    a missing one. ``recognizes`` says whether a signed Statement document has this method's
    shape; it only routes error messages and decides nothing about trust.
    """

    name: str
    #: One line for the pipeline description, e.g. ``ECDSA key pair``.
    description: str
    signer_type: type
    policy_type: type
    signing_options: tuple[str, ...]
    verification_options: tuple[str, ...]
    signer_from: Callable[[Mapping[str, Any]], Signer]
    policy_from: Callable[[Mapping[str, Any]], Policy]
    recognizes: Callable[[Mapping[str, Any]], bool]
    wiring: ClusterWiring
    #: An example signer identity for messages, when the method checks one.
    identity_example: str = ""

    def __post_init__(self) -> None:
        """Refuse a name or option the rest of the package cannot carry (a programming error)."""
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise InvalidInputError(
                f"signing method name {self.name!r} is not a short lowercase name; use letters, "
                "digits and '-'"
            )
        for side, options, known, files in (
            ("signing", self.signing_options, SIGNING_OPTIONS, self.wiring.signing_files),
            (
                "verification",
                self.verification_options,
                VERIFICATION_OPTIONS,
                self.wiring.verify_files,
            ),
        ):
            unknown = sorted(set(options) - set(known))
            if unknown:
                raise InvalidInputError(
                    f"signing method {self.name!r}: unknown {side} options "
                    f"{', '.join(unknown)}; use {', '.join(known)} (a new option needs a new "
                    "from_method parameter)"
                )
            unused = sorted(set(files) - (set(options) & _FILE_OPTIONS))
            if unused:
                raise InvalidInputError(
                    f"signing method {self.name!r}: wiring names {side} files for "
                    f"{', '.join(unused)}, which it takes no path for; fix its options or wiring"
                )
        unmounted = [
            option
            for option in self.verification_options
            if option in _FILE_OPTIONS and option not in self.wiring.verify_files
        ]
        if unmounted:
            raise InvalidInputError(
                f"signing method {self.name!r}: verification options {', '.join(unmounted)} have "
                "no file in the verification ConfigMap; add them to wiring.verify_files"
            )
