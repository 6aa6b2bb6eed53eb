"""One verification backend per method: check inputs, build model-signing's verifier, add checks.

Each backend is a frozen dataclass of what the caller trusts (a key, CA certificates plus an
identity, or a Sigstore identity, issuer and trust config); nothing has a default. The caller
(``verify``) runs, in order: ``check_inputs``, ``check_material`` on the bundle,
model-signing with ``config()``, then ``check_verified`` on the verified bundle. Each step
raises through the ``fail`` callback, which builds the one-line VerificationError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from model_signing import verifying as ms_verifying

from kfp_mlsecops.errors import VerificationError
from kfp_mlsecops.signing import _x509
from kfp_mlsecops.signing._bundle import (
    MATERIAL_CERTIFICATE_CHAIN,
    MATERIAL_PUBLIC_KEY,
    chain_certificates_der,
)
from kfp_mlsecops.signing._contract import check_trust_config, one_line
from kfp_mlsecops.signing.keys import SUPPORTED_CURVES

#: Builds the one-line VerificationError for a reason (prefix and advice filled in).
Fail = Callable[[str], VerificationError]


@dataclass(frozen=True)
class KeyPolicy:
    """Trust one ECDSA public key."""

    public_key_path: Path

    @property
    def what(self) -> str:
        """How the trusted material is named in messages."""
        return f"public key '{self.public_key_path}'"

    def check_inputs(self, fail: Fail) -> None:
        """Refuse a missing, unreadable or non-ECDSA public key file."""
        path = self.public_key_path
        try:
            data = path.read_bytes()
        except FileNotFoundError as e:
            raise fail(f"cannot be checked: public key '{path}' does not exist") from e
        except OSError as e:
            raise fail(
                f"cannot be checked: public key '{path}' cannot be read ({e.strerror})"
            ) from e
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as e:
            raise fail(f"cannot be checked: '{path}' is not a PEM public key") from e
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in SUPPORTED_CURVES:
            raise fail(
                f"cannot be checked: public key '{path}' is not ECDSA on "
                f"{', '.join(SUPPORTED_CURVES)}"
            )

    def check_material(self, kind: str, fail: Fail) -> None:
        """Refuse a bundle made with a certificate (it belongs to another method)."""
        if kind != MATERIAL_PUBLIC_KEY:
            raise fail(
                f"was made with a certificate ({kind}), not a key; verify it with the "
                "certificate or sigstore method"
            )

    def config(self) -> ms_verifying.Config:
        """Return model-signing's verifier for this key."""
        return ms_verifying.Config().use_elliptic_key_verifier(public_key=self.public_key_path)

    def check_verified(self, bundle: dict[str, Any], fail: Fail) -> None:
        """Nothing to add: the key is the whole policy."""


@dataclass(frozen=True)
class CertificatePolicy:
    """Trust CA certificates, and only a leaf that names ``identity`` and is valid now.

    model-signing checks the chain at the leaf's own notBefore time and no identity; we add the
    identity check and check the leaf's validity at verification time. The bundles this method
    produces carry no trusted signing time (no transparency-log entry, no RFC 3161 timestamp),
    so "now" is the only time we can trust: a model must be re-signed before its certificate
    expires.
    """

    chain_paths: tuple[Path, ...]
    identity: str

    @property
    def what(self) -> str:
        """How the trusted material is named in messages."""
        return f"certificate chain {', '.join(repr(str(p)) for p in self.chain_paths)}"

    def check_inputs(self, fail: Fail) -> None:
        """Refuse an empty chain (model-signing would fall back to the OS roots) or identity."""
        if not self.chain_paths:
            raise fail("cannot be checked: no CA certificate given (pass the chain)")
        if not self.identity.strip():
            raise fail("cannot be checked: no expected signer identity given")
        for path in self.chain_paths:
            try:
                _x509.load_pem_certificates(path)
            except FileNotFoundError as e:
                raise fail(f"cannot be checked: chain file '{path}' does not exist") from e
            except OSError as e:
                raise fail(f"cannot be checked: chain file '{path}' cannot be read") from e
            except ValueError as e:
                raise fail(f"cannot be checked: chain file '{path}' {e}") from e

    def check_material(self, kind: str, fail: Fail) -> None:
        """Require a certificate chain in the bundle."""
        if kind != MATERIAL_CERTIFICATE_CHAIN:
            raise fail(
                f"carries {kind}, not a certificate chain; verify it with the "
                f"{'key' if kind == MATERIAL_PUBLIC_KEY else 'sigstore'} method"
            )

    def config(self) -> ms_verifying.Config:
        """Return model-signing's certificate verifier for the trusted chain."""
        return ms_verifying.Config().use_certificate_verifier(
            certificate_chain=list(self.chain_paths)
        )

    def check_verified(self, bundle: dict[str, Any], fail: Fail) -> None:
        """Check the verified leaf: identity, code-signing usage, validity now."""
        try:
            leaf = x509.load_der_x509_certificate(chain_certificates_der(bundle)[0])
        except ValueError as e:
            raise fail(f"verified but its leaf certificate is unreadable ({one_line(e)})") from e
        problem = _x509.identity_problem(leaf, self.identity)
        if problem:
            raise fail(problem)
        problem = _x509.signing_usage_problem(leaf)
        if problem:
            raise fail(f"is signed by a certificate that {problem}")
        problem = _x509.validity_problem(leaf, _x509.now())
        if problem:
            raise fail(f"is signed by a certificate that {problem} (checked at verification time)")


@dataclass(frozen=True)
class SigstorePolicy:
    """Trust a Sigstore identity from one OIDC issuer, under an explicit trust config (offline)."""

    identity: str
    issuer: str
    trust_config_path: Path

    @property
    def what(self) -> str:
        """How the trusted material is named in messages."""
        return f"Sigstore identity '{self.identity}' from issuer '{self.issuer}'"

    def check_inputs(self, fail: Fail) -> None:
        """Refuse an empty identity or issuer and an unreadable trust config."""
        if not self.identity.strip() or not self.issuer.strip():
            raise fail("cannot be checked: pass both the signer identity and the OIDC issuer")
        try:
            check_trust_config(self.trust_config_path, error=VerificationError)
        except VerificationError as e:
            raise fail(f"cannot be checked: {one_line(e)}") from e

    def check_material(self, kind: str, fail: Fail) -> None:
        """Refuse a key-signed bundle."""
        if kind == MATERIAL_PUBLIC_KEY:
            raise fail("was made with a key, not Sigstore; verify it with the key method")

    def config(self) -> ms_verifying.Config:
        """Return model-signing's Sigstore verifier (identity, issuer, trust config)."""
        return ms_verifying.Config().use_sigstore_verifier(
            identity=self.identity, oidc_issuer=self.issuer, trust_config=self.trust_config_path
        )

    def check_verified(self, bundle: dict[str, Any], fail: Fail) -> None:
        """Nothing to add: sigstore-python checked identity, issuer, log entry and times."""


#: Any verification backend.
Policy = Union[KeyPolicy, CertificatePolicy, SigstorePolicy]
