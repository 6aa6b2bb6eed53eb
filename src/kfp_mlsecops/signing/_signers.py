"""One signing backend per method: check its inputs, then build model-signing's signer config.

Each backend is a frozen dataclass holding paths only (never key bytes, passwords or tokens, so
its ``repr`` is safe to log). ``prepare()`` checks every input with a one-line SigningError and
returns the model-signing config plus a short description of the signer for messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from model_signing import signing as ms_signing

from kfp_mlsecops.errors import SigningError
from kfp_mlsecops.signing import _x509
from kfp_mlsecops.signing._contract import check_trust_config, one_line
from kfp_mlsecops.signing.keys import load_signing_key, read_password


@dataclass(frozen=True)
class KeySigner:
    """Sign with an ECDSA private key (optionally encrypted, password read from a file)."""

    private_key_path: Path
    password_path: Path | None = None

    def prepare(self) -> tuple[ms_signing.Config, str]:
        """Check the key and return (model-signing config, description)."""
        password = read_password(self.password_path)
        load_signing_key(self.private_key_path, password)
        what = f"private key '{self.private_key_path}'"
        try:
            # model-signing types the password as str but hands it to cryptography (bytes).
            config = ms_signing.Config().use_elliptic_key_signer(
                private_key=self.private_key_path, password=cast(Any, password)
            )
        except Exception as e:
            raise SigningError(f"{what} cannot be used by model-signing ({one_line(e)})") from e
        return config, what


@dataclass(frozen=True)
class CertificateSigner:
    """Sign with a private key whose leaf certificate chains to a CA (PKI certificate method)."""

    private_key_path: Path
    certificate_path: Path
    chain_paths: tuple[Path, ...]

    def prepare(self) -> tuple[ms_signing.Config, str]:
        """Check key, leaf and chain (validity now, usage, key match) and return the config."""
        key = load_signing_key(
            self.private_key_path,
            None,
            encrypted_advice="the certificate method needs an unencrypted key (model-signing "
            "1.1.1 takes no password for it); store it decrypted in a Secret",
        )
        leaf = self._leaf()
        chain = [cert for path in self.chain_paths for cert in _read_certificates(path, "chain")]
        where = f"certificate '{self.certificate_path}'"
        at = _x509.now()
        problem = _x509.validity_problem(leaf, at)
        if problem:
            raise SigningError(f"{where} {problem}; sign with a currently valid certificate")
        problem = _x509.chain_validity_problem(chain, at)
        if problem:
            raise SigningError(f"certificate chain: {problem}; renew the chain")
        problem = _x509.signing_usage_problem(leaf)
        if problem:
            raise SigningError(f"{where} {problem}; use a code-signing certificate")
        leaf_key = leaf.public_key()
        if (
            not isinstance(leaf_key, ec.EllipticCurvePublicKey)
            or leaf_key.public_numbers() != key.public_key().public_numbers()
        ):
            raise SigningError(
                f"{where} does not belong to private key '{self.private_key_path}'; pass the "
                "certificate issued for that key"
            )
        if not any(_issued_by(leaf, ca) for ca in chain):
            raise SigningError(
                f"{where}: its issuer {leaf.issuer.rfc4514_string()!r} is not in the chain "
                f"({', '.join(str(p) for p in self.chain_paths)}); pass the issuing CA"
            )
        what = f"certificate '{self.certificate_path}'"
        try:
            config = ms_signing.Config().use_certificate_signer(
                private_key=self.private_key_path,
                signing_certificate=self.certificate_path,
                certificate_chain=list(self.chain_paths),
            )
        except Exception as e:
            raise SigningError(f"{what} cannot be used by model-signing ({one_line(e)})") from e
        return config, what

    def _leaf(self) -> x509.Certificate:
        certificates = _read_certificates(self.certificate_path, "certificate")
        if len(certificates) != 1:
            raise SigningError(
                f"certificate '{self.certificate_path}' holds {len(certificates)} certificates; "
                "pass the leaf alone and the CA certificates as the chain"
            )
        return certificates[0]


@dataclass(frozen=True)
class SigstoreSigner:
    """Keyless Sigstore signing with an OIDC identity token (from a file, or ambient).

    NOT run here (needs the public Sigstore instance): this path is kept thin on purpose. The
    token is checked offline first (well-formed JWT, audience ``sigstore``, not expired) so
    a bad token fails before any network call; no interactive OAuth flow is ever started.
    """

    identity_token_path: Path | None = None
    use_ambient_credentials: bool = False
    trust_config_path: Path | None = None

    def prepare(self) -> tuple[ms_signing.Config, str]:
        """Read and pre-check the identity token, then build the Sigstore signer (network)."""
        token, source = self._token()
        from sigstore.oidc import IdentityError, IdentityToken

        try:
            identity = IdentityToken(token).identity
        except IdentityError as e:
            cause = f": {one_line(e.__cause__, 80)}" if e.__cause__ else ""
            raise SigningError(
                f"identity token from {source} is unusable ({one_line(e)}{cause}); it must be a "
                "current OIDC token with audience 'sigstore'"
            ) from e
        if self.trust_config_path is not None:
            check_trust_config(self.trust_config_path, error=SigningError)
        what = f"Sigstore identity '{identity}'"
        try:
            config = ms_signing.Config().use_sigstore_signer(
                identity_token=token,
                use_ambient_credentials=False,
                trust_config=self.trust_config_path,
            )
        except Exception as e:
            raise SigningError(
                f"Sigstore signing cannot start ({one_line(e)}); check network access to the "
                "Sigstore instance and the trust config"
            ) from e
        return config, what

    def _token(self) -> tuple[str, str]:
        if (self.identity_token_path is None) == (not self.use_ambient_credentials):
            raise SigningError(
                "sigstore signing needs exactly one token source: identity_token_path or "
                "use_ambient_credentials=True"
            )
        if self.identity_token_path is not None:
            path = self.identity_token_path
            try:
                token = path.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as e:
                raise SigningError(
                    f"identity token file '{path}' cannot be read ({one_line(e, 80)}); mount "
                    "the projected service-account token"
                ) from e
            if not token:
                raise SigningError(f"identity token file '{path}' is empty; mount a real token")
            return token, f"'{path}'"
        from sigstore.oidc import IdentityError, detect_credential

        try:
            ambient = detect_credential()
        except IdentityError as e:
            raise SigningError(f"ambient OIDC credential detection failed ({one_line(e)})") from e
        if not ambient:
            raise SigningError(
                "no ambient OIDC credential found (GitHub Actions, GitLab, Buildkite, GCP); pass "
                "identity_token_path instead"
            )
        return ambient, "ambient credentials"


#: Any signing backend.
Signer = Union[KeySigner, CertificateSigner, SigstoreSigner]


def _read_certificates(path: Path, what: str) -> list[x509.Certificate]:
    try:
        return _x509.load_pem_certificates(path)
    except FileNotFoundError as e:
        raise SigningError(f"{what} file '{path}' does not exist; mount the certificate") from e
    except OSError as e:
        raise SigningError(f"{what} file '{path}' cannot be read ({e.strerror})") from e
    except ValueError as e:
        raise SigningError(f"{what} file '{path}' {e}; pass PEM certificates") from e


def _issued_by(leaf: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
