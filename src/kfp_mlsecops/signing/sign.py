"""Sign a model directory with OpenSSF model-signing: key, certificate, Sigstore or any method.

:class:`SigningConfig` is a small immutable builder in model-signing's style: pick exactly one
method with ``use_key`` / ``use_certificate`` / ``use_sigstore`` or, for any registered method,
``from_method`` (each returns a new config), then call ``sign``. :func:`sign_model` is the
key-method shortcut. Every method shares the hashing config and the bundle contract in
``_contract`` / ``_bundle``; the per-method checks live in the method's module (:mod:`.registry`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kfp_mlsecops.errors import InvalidInputError, SigningError
from kfp_mlsecops.signing._bundle import read_bundle_json, signed_statement
from kfp_mlsecops.signing._certificate import CertificateSigner
from kfp_mlsecops.signing._contract import (
    PathArg,
    as_path,
    check_model_dir,
    check_options,
    digest_of,
    hashing_config,
    one_line,
    opt_path,
)
from kfp_mlsecops.signing._key import KeySigner
from kfp_mlsecops.signing._sigstore import SigstoreSigner
from kfp_mlsecops.signing.method import EnvelopeSigner, Signer
from kfp_mlsecops.signing.registry import get_method, method_of

if TYPE_CHECKING:
    from model_signing import signing as ms_signing

_UNCONFIGURED = "call use_key, use_certificate or use_sigstore"


@dataclass(frozen=True)
class SigningConfig:
    """How to sign a model: exactly one method, chosen with a ``use_*`` method.

    Holds paths only (no key bytes, passwords or tokens), so it is safe to print.
    """

    signer: Signer | None = None

    def use_key(
        self, *, private_key_path: PathArg, password_path: PathArg | None = None
    ) -> SigningConfig:
        """Sign with an ECDSA (P-256/P-384/P-521) PEM key; the password, if any, from a file."""
        return SigningConfig(
            KeySigner.create(private_key_path=private_key_path, password_path=password_path)
        )

    def use_certificate(
        self,
        *,
        private_key_path: PathArg,
        certificate_path: PathArg,
        chain_paths: Sequence[PathArg],
    ) -> SigningConfig:
        """Sign with a key and its code-signing leaf certificate; ``chain_paths`` hold the CAs.

        The leaf must be valid now, allow codeSigning, match the key and be issued by a chain
        certificate; the key must be unencrypted (model-signing 1.1.1 takes no password here).
        """
        return SigningConfig(
            CertificateSigner.create(
                private_key_path=private_key_path,
                certificate_path=certificate_path,
                chain_paths=chain_paths,
            )
        )

    def use_sigstore(
        self,
        *,
        identity_token_path: PathArg | None = None,
        use_ambient_credentials: bool = False,
        trust_config_path: PathArg | None = None,
    ) -> SigningConfig:
        """Sign keyless with Sigstore (needs network; not run in this project's tests).

        Give exactly one token source: ``identity_token_path`` (e.g. a projected
        service-account token with audience ``sigstore``) or ``use_ambient_credentials=True``.
        ``trust_config_path`` picks the Sigstore instance; None means the public-good instance.
        """
        return SigningConfig(
            SigstoreSigner.create(
                identity_token_path=identity_token_path,
                use_ambient_credentials=use_ambient_credentials,
                trust_config_path=trust_config_path,
            )
        )

    @classmethod
    def from_method(
        cls,
        method: str,
        *,
        private_key_path: PathArg | None = None,
        password_path: PathArg | None = None,
        certificate_path: PathArg | None = None,
        chain_paths: Sequence[PathArg] = (),
        identity_token_path: PathArg | None = None,
        use_ambient_credentials: bool = False,
        trust_config_path: PathArg | None = None,
    ) -> SigningConfig:
        """Build a config from a method name and flat options (for CLIs and KFP parameters).

        ``method`` is any registered method (:func:`~kfp_mlsecops.signing.registry.method_names`).
        Empty strings count as not given. An option that the method does not use is an error,
        so a misplaced key or token is never silently ignored.
        """
        options = {
            "private_key_path": opt_path(private_key_path),
            "password_path": opt_path(password_path),
            "certificate_path": opt_path(certificate_path),
            "chain_paths": [p for p in chain_paths if opt_path(p) is not None],
            "identity_token_path": opt_path(identity_token_path),
            "use_ambient_credentials": use_ambient_credentials is True,
            "trust_config_path": opt_path(trust_config_path),
        }
        chosen = get_method(method)
        given = {name: _is_set(value) for name, value in options.items()}
        check_options("signing", chosen.name, given, chosen.signing_options)
        return cls(chosen.signer_from({name: options[name] for name in chosen.signing_options}))

    @property
    def method(self) -> str:
        """The configured method name (``key``, ``certificate``, ``sigstore``, ...)."""
        found = None if self.signer is None else method_of(self.signer)
        if found is None:
            raise SigningError(f"no signing method configured; {_UNCONFIGURED}")
        return found.name

    def public_key_pem(self) -> bytes | None:
        """Return the PEM public key of the method's signing key; None for keyless methods.

        Used for separation-of-duties checks. Raises SigningError for an unusable key.
        """
        return None if self.signer is None else self.signer.public_key_pem()

    def envelope_signer(self) -> EnvelopeSigner:
        """Return the signer of in-toto Statements (attestation, approval) with this material.

        Raises SigningError when no method is configured.
        """
        if self.signer is None:
            raise SigningError(f"the signing config has no method; {_UNCONFIGURED}")
        return self.signer.envelope_signer()

    def sign(self, model_dir: PathArg, signature_path: PathArg) -> str:
        """Sign every file of ``model_dir`` into ``signature_path``; return the model digest.

        The signature (a Sigstore bundle holding an OMS in-toto statement) is written atomically
        and must lie outside the model directory. Raises SigningError for an unusable model,
        key, certificate or token, InvalidInputError for a misplaced signature path.
        """
        if self.signer is None:
            raise SigningError(f"no signing method configured; {_UNCONFIGURED}")
        model = check_model_dir(model_dir, error=SigningError)
        target = _signature_target(signature_path, model)
        config, what = self.signer.prepare()
        return _sign_with(config, model, target, what=what)


def sign_model(
    model_dir: PathArg,
    signature_path: PathArg,
    *,
    private_key_path: PathArg,
    password_path: PathArg | None = None,
) -> str:
    """Sign every file of ``model_dir`` with an ECDSA private key; return the signed model digest.

    Shortcut for ``SigningConfig().use_key(...).sign(model_dir, signature_path)``. The signature
    is written atomically to ``signature_path``, which must lie outside the model directory.
    Raises SigningError for an unusable model directory or key, InvalidInputError for a
    misplaced signature path.
    """
    config = SigningConfig().use_key(private_key_path=private_key_path, password_path=password_path)
    return config.sign(model_dir, signature_path)


def _is_set(value: object) -> bool:
    return value is not None and value is not False and value != []


def _signature_target(signature_path: PathArg, model: Path) -> Path:
    target = as_path(signature_path, "signature_path")
    resolved = target.resolve()
    if resolved.is_relative_to(model):
        raise InvalidInputError(
            f"signature path '{target}' is inside the model directory '{model}'; write it "
            "outside (a file inside the model is part of what gets signed)"
        )
    if resolved.is_dir():
        raise InvalidInputError(f"signature path '{target}' is a directory; pass a file path")
    return resolved


def _sign_with(config: ms_signing.Config, model: Path, target: Path, *, what: str) -> str:
    """Sign ``model`` with a configured signer into ``target`` atomically; return the digest."""
    config.set_hashing_config(hashing_config())
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as e:
        raise SigningError(
            f"signature path '{target}': cannot write there ({e.strerror}); pick a writable folder"
        ) from e
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            config.sign(model, tmp)
            statement = signed_statement(read_bundle_json(tmp.read_bytes()))
        except Exception as e:
            raise SigningError(
                f"model '{model}': signing with {what} failed ({one_line(e)}); check the model "
                "directory and signing inputs"
            ) from e
        if not statement.resources:
            raise SigningError(f"model '{model}': nothing was signed; check the model directory")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return digest_of(statement.resources)
